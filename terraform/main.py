"""Synthesize the cloud kernel: ``python terraform/main.py --model MODEL.json --out DIR``.

``MODEL.json`` is a kernel model (``KernelModel.model_dump_json()``, as ``dataos-ctl kernel
synth`` writes it). Prints one JSON line, ``{"stacks": [...in apply order], "outdir": ...}``;
``dataos-ctl kernel synth`` runs exactly this and reads that line.

The CDKTF CLI (``cdktf.json``: ``"app": "python main.py"``) runs it without arguments: the
model then comes from ``$DATAOS_KERNEL_MODEL`` and the output goes to ``cdktf.out`` (or
``$CDKTF_OUTDIR``, which the CLI sets).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

MODEL_ENV = "DATAOS_KERNEL_MODEL"
# jsii (under CDKTF) prints a banner on an end-of-life Node unless its major is listed here.
_SILENCE = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
os.environ[_SILENCE] = ",".join(filter(None, [os.environ.get(_SILENCE), "18,19,20,21,22,23"]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Synthesize the cloud kernel's Terraform JSON.")
    parser.add_argument(
        "--model", type=Path, default=os.environ.get(MODEL_ENV), help=f"default: ${MODEL_ENV}"
    )
    parser.add_argument(
        "--out", type=Path, default=Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out"))
    )
    args = parser.parse_args(argv)
    if args.model is None:
        parser.error(f"give --model MODEL.json or set {MODEL_ENV}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    from dataos_kernel.app import synth

    from dataos_defs.kernel.model import KernelModel

    model = KernelModel.model_validate_json(Path(args.model).read_text(encoding="utf-8"))
    outdir = args.out.resolve()
    stacks = synth(model, outdir)
    print(json.dumps({"stacks": stacks, "outdir": str(outdir)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
