"""The store's Fernet key on AWS: a Secrets Manager entry whose value no file ever holds.

The Poros store encrypts secret values with one Fernet key (``DATAOS_SECRET_KEY``,
dataos_defs/poros/vault.py). Without it the API server would make a key file of its own,
lost with the pod. So the cluster stack creates the entry ``model.secret_key_secret`` and
writes a generated key to it once:

- the key is generated at apply time by Secrets Manager's own generator, the *ephemeral*
  ``aws_secretsmanager_random_password`` (the hashicorp/random provider the other clouds use
  is not needed, which keeps this stack to the one provider mirrored on the build machine):
  43 characters of the url-safe base64 alphabet (letters, digits, ``-`` and ``_``: every
  other punctuation character is excluded), then ``=`` — 32 bytes, what ``Fernet(key)``
  accepts;
- it goes only to the write-only ``secret_string_wo`` of the entry's version (hashicorp/aws
  >= 5.100 has it; Terraform >= 1.11): neither the synthesized JSON nor the state holds it;
- ``SECRET_KEY_VERSION`` (``cloud_common``) must NEVER be bumped: a new version would write a
  fresh key over the one the store is encrypted with. Later applies generate a value nobody
  writes.

Terraform opens the generator at every plan and apply (one ``GetRandomPassword`` call, which
whoever deploys may make: it reads no secret); its value is thrown away unless the version is
being written.
"""

from __future__ import annotations

import string

from cdktn import TerraformStack
from cdktn_provider_aws.ephemeral_aws_secretsmanager_random_password import (
    EphemeralAwsSecretsmanagerRandomPassword,
)
from cdktn_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktn_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.cloud_common import (
    FERNET_KEY_CHARACTERS,
    FERNET_PADDING,
    SECRET_KEY_VERSION,
    TERRAFORM_VERSION,
    URLSAFE_SPECIAL,
    secret_entry_name,
)
from dataos_kernel.naming import name_tags

# Secrets Manager's punctuation set is string.punctuation: all of it but "-" and "_" goes.
EXCLUDED_PUNCTUATION = "".join(c for c in string.punctuation if c not in URLSAFE_SPECIAL)


def secret_key_entry(stack: TerraformStack, model: KernelModel) -> SecretsmanagerSecret:
    """The entry holding the store's Fernet key, written write-only at its creation."""
    stack.add_override("terraform.required_version", TERRAFORM_VERSION)
    entry = SecretsmanagerSecret(
        stack,
        "secret-key",
        name=secret_entry_name(model.secret_key_secret),
        description="DATAOS_SECRET_KEY: the Fernet key of the platform store's secrets",
        tags=name_tags(model, "secret-key"),
    )
    generated = EphemeralAwsSecretsmanagerRandomPassword(
        stack,
        "fernet-key",
        password_length=FERNET_KEY_CHARACTERS,
        exclude_characters=EXCLUDED_PUNCTUATION,
        include_space=False,
        require_each_included_type=False,
    )
    SecretsmanagerSecretVersion(
        stack,
        "secret-key-version",
        secret_id=entry.id,
        secret_string_wo=f"{generated.random_password}{FERNET_PADDING}",
        secret_string_wo_version=SECRET_KEY_VERSION,
    )
    return entry
