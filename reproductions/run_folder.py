"""The prelude every recipe's ``run`` shares: open (or resume) the run folder named by the
config, the seed and the data, and record where the data came from."""
from __future__ import annotations

from common.config import identity_dict
from common.runs import Run, start_run
from data_prep import datasets


def open_run(paper: str, cfg, seed: int, corpus: str, resolved: dict, rerun: bool = False) -> Run:
    """The run folder for this config, seed and data (see common.runs.start_run), with the
    datasets' provenance recorded and their manifests / bad-file lists written. When exactly
    this run has already finished (``run.finished``) nothing is written: the caller returns."""
    info = datasets.provenance(resolved)
    data_identity = datasets.identity(resolved)
    for name, fp in data_identity.items():
        info[name]["fingerprint"] = fp
    # identity_dict: a default train.strategy is not part of the id (common.distribute)
    identity = {"config": identity_dict(cfg), "data": data_identity}
    run = start_run(paper, cfg.profile, corpus, seed, identity, data={"datasets": info},
                    rerun=rerun)
    if run.finished:
        print(f"run {run.run_id} already finished: nothing recomputed "
              f"(use --rerun for a new run folder)")
        return run
    datasets.write_reports(resolved, run.dir / "data")
    return run
