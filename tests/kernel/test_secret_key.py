"""The store's Fernet key the cluster stacks generate is a key the store accepts.

Each cloud's stack generates ``DATAOS_SECRET_KEY`` at apply time as 43 characters of the
url-safe base64 alphabet followed by ``=`` (``dataos_kernel.cloud_common``; AWS through
Secrets Manager's generator, ``dataos_kernel.aws_secrets``). No test can run the generators
here, so this checks the format itself: every such string is a valid Fernet key, which the
store's vault (dataos_defs/poros/vault.py) encrypts and decrypts with.
"""

from __future__ import annotations

import os
import string

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import pytest
from cryptography.fernet import Fernet
from dataos_kernel.aws_secrets import EXCLUDED_PUNCTUATION
from dataos_kernel.cloud_common import (
    FERNET_KEY_CHARACTERS,
    FERNET_PADDING,
    SECRET_KEY_VERSION,
    URLSAFE_SPECIAL,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from dataos_defs.poros.vault import Vault

URLSAFE_ALPHABET = string.ascii_letters + string.digits + URLSAFE_SPECIAL


def _key(characters: str) -> bytes:
    return f"{characters}{FERNET_PADDING}".encode()


def test_the_generated_format_is_the_url_safe_base64_of_32_bytes() -> None:
    assert len(set(URLSAFE_ALPHABET)) == 64
    assert (FERNET_KEY_CHARACTERS, FERNET_PADDING) == (43, "=")
    assert set(string.punctuation) - set(EXCLUDED_PUNCTUATION) == set(URLSAFE_SPECIAL)
    assert Fernet.generate_key()[-1:] == FERNET_PADDING.encode()
    assert len(Fernet.generate_key()) == FERNET_KEY_CHARACTERS + 1


def test_the_key_version_is_the_first_one() -> None:
    """Bumping it would write a fresh key over the one the store is encrypted with."""
    assert SECRET_KEY_VERSION == 1


@pytest.mark.parametrize("fill", ["A", "z", "9", "-", "_"])
def test_extreme_keys_are_valid(fill: str) -> None:
    Fernet(_key(fill * FERNET_KEY_CHARACTERS))


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=URLSAFE_ALPHABET, min_size=FERNET_KEY_CHARACTERS, max_size=FERNET_KEY_CHARACTERS
    )
)
def test_every_generated_key_is_a_fernet_key_the_store_uses(characters: str) -> None:
    key = _key(characters)
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"secret")) == b"secret"
    vault = Vault(key)
    assert vault.open(vault.seal([(("spec", "password"), "hunter2")]) or "") == [
        (("spec", "password"), "hunter2")
    ]
