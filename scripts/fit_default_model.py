"""Fit the default grading model and write its JSON artifact.

Usage::

    .venv/bin/python scripts/fit_default_model.py \\
        /work/shared/data/external/default_datasets/polish_bankruptcy_1year.arff.gz \\
        /work/shared/data/external/default_datasets/analcatdata_bankruptcy_altman_ratios.tsv

Reads the Polish bankruptcy data (UCI 365, 1st year), computes the model's
ratios, fits on a stratified 70 % and validates on the held-out 30 %
(:func:`tradecover.risk.grading.fit_and_validate`), cross-checks against
Altman's Z on the 50 US firms, and writes
``src/tradecover/risk/default_grading_model.json``. The output holds no
timestamp: the same inputs give a byte-identical file, so a re-run that
changes the artifact shows up in review. Prints a summary (``--json`` for
the whole validation report); exits 1 if the held-out AUC is below
``--min-auc``, so a bad refit is never written.
"""

# `X` is the conventional name of a design matrix (rows × features), as in scikit-learn.

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tradecover.domain.errors import InvalidInput
from tradecover.risk.grading import DEFAULT_MODEL_RESOURCE, DEFAULT_SPLIT_SEED
from tradecover.services.model_fitting import build_artifact

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "src" / "tradecover" / "risk" / DEFAULT_MODEL_RESOURCE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("polish", type=Path, help="Polish bankruptcy ARFF (.arff or .arff.gz)")
    parser.add_argument("altman", type=Path, help="50 US firms, Altman ratios (TSV)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="artifact to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SPLIT_SEED, help="hold-out split seed")
    parser.add_argument("--test-size", type=float, default=0.3, help="held-out share")
    parser.add_argument("--min-auc", type=float, default=0.70, help="refuse to write below this held-out AUC")
    parser.add_argument("--json", action="store_true", help="print the validation report as JSON")
    args = parser.parse_args(argv)
    try:
        artifact = build_artifact(args.polish, args.altman, seed=args.seed, test_size=args.test_size)
    except (InvalidInput, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    validation = artifact["validation"]
    held_out, altman = validation["held_out"], validation["altman"]
    if args.json:
        print(json.dumps(validation, indent=2))
    else:
        print(
            f"held-out: n={held_out['n']} defaults={held_out['defaults']} AUC={held_out['auc']:.4f} "
            f"Gini={held_out['gini']:.4f} Brier={held_out['brier']:.5f}\n"
            f"train:    AUC={validation['train']['auc']:.4f}\n"
            f"Altman 50 US firms: AUC Z={altman['auc_altman_z']:.4f} Z'={altman['auc_altman_z_prime']:.4f} "
            f"model={altman['auc_model']:.4f} (balance identity {altman['auc_model_balance_identity']:.4f})"
        )
    if held_out["auc"] < args.min_auc:
        print(
            f"error: held-out AUC {held_out['auc']:.4f} < {args.min_auc}; artifact not written",
            file=sys.stderr,
        )
        return 1
    args.output.write_text(json.dumps(artifact, indent=2, ensure_ascii=False, allow_nan=False) + "\n", "utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
