"""Policy options set on the command line that a chosen policy does not have.

A policy option beside a sweep over policies (``-m policy=static,pd_threshold
policy.cut_above_pd=0.08``) must be an option of every policy swept: otherwise
:func:`sim.runtime.preflight.preflight` refuses the sweep, naming the policies that lack it,
before any job runs (:func:`check_policy_options`); a job whose policy is chosen by its
config rather than its overrides is checked when it fails to compose
(:func:`policy_option_problem`).
"""

from __future__ import annotations

import dataclasses

from hydra import compose
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from sim.runtime.errors import CONFIG_ERRORS, UserError, closest_name

__all__ = ["check_policy_options", "policy_fields", "policy_option_problem"]

_COMPOSE_ERRORS = (HydraException, OmegaConfBaseException)


def _policy_option_keys(overrides: list[Override]) -> list[Override]:
    """The overrides that set a policy option (``policy.key=``, ``+policy.key=``, ...)."""
    return [
        o
        for o in overrides
        if o.key_or_group.startswith("policy.") and o.package is None and not o.is_delete()
    ]


def _chosen_policy(overrides: list[Override]) -> str | None:
    for o in overrides:
        if o.key_or_group == "policy" and o.package is None and not o.is_delete():
            return str(o.value())
    return None


def policy_fields(policy: str) -> set[str]:
    """The options of registered policy ``policy``: its config dataclass's field names."""
    from sim.platform.policies import policy_class

    return {f.name for f in dataclasses.fields(policy_class(policy).config_class)}


def _option_owners(option: str) -> list[str]:
    """The registered policies whose config has ``option``."""
    from sim.platform.policies import policy_names

    return [n for n in policy_names() if option in policy_fields(n)]


def check_policy_options(parser: OverridesParser, jobs: list[list[str]], *, multirun: bool) -> None:
    """Refuse policy options that a chosen policy does not have, naming those policies.

    Jobs that name their policy (``policy=<name>``) are checked against the policies'
    schemas here, all at once; the others when their config is composed
    (:func:`policy_option_problem`).

    Args:
        parser: Hydra's override parser.
        jobs: each job's override lines.
        multirun: the jobs are a sweep's (the message says so).

    Raises:
        UserError: an option some chosen policy lacks, naming the policies without it
            (and, for a sweep, those with it).
    """
    from sim.platform.policies import policy_names

    registered = set(policy_names())
    lacking: dict[str, set[str]] = {}
    chosen: set[str] = set()
    for job in jobs:
        overrides = parser.parse_overrides(job)
        policy = _chosen_policy(overrides)
        if policy is None or policy not in registered:
            continue
        chosen.add(policy)
        for o in _policy_option_keys(overrides):
            option = o.key_or_group.split(".")[1]
            if policy not in _option_owners(option):
                lacking.setdefault(o.input_line or o.key_or_group, set()).add(policy)
    if lacking:
        line, policies = next(iter(lacking.items()))
        raise _policy_option_error(line, sorted(policies), sorted(chosen), multirun=multirun)


def _policy_option_error(
    line: str, lacking: list[str], chosen: list[str], *, multirun: bool
) -> UserError:
    option = line.lstrip("+").split("=", 1)[0].split(".")[1]
    owners = _option_owners(option)
    have = [p for p in chosen if p in owners]
    policies = ", ".join(lacking)
    if multirun and len(chosen) > 1 and owners:
        return UserError(
            f"invalid sweep: {line} is not an option of policy {policies} "
            f"(of the policies swept, {', '.join(have) or 'none'} has it); an option set "
            "beside a sweep over policies must belong to every policy swept: "
            "sweep those policies separately"
        )
    if option.lower() == "name" and not owners:  # policy.Name: the label, in another case
        from sim.platform.policies import policy_names

        closest = (
            f"; to run another policy, choose it: policy=<option>, one of "
            f"{', '.join(sorted(policy_names()))}"
        )
    else:  # in a sweep, only an option every policy swept has would be a fix
        closest = "" if owners else _closest_option(option, chosen if multirun else lacking)
    what = "sweep" if multirun and len(chosen) > 1 else "config"
    return UserError(
        f"invalid {what}: {line} is not an option of policy {policies} "
        f"(policies with it: {', '.join(owners) or 'none'}){closest}"
    )


def _closest_option(option: str, policies: list[str]) -> str:
    """``; did you mean policy.<option>?`` for the closest option all ``policies`` have, or ""."""
    each = [policy_fields(n) for n in policies]
    close = closest_name(option, sorted(set.intersection(*each) - {"name"}) if each else [])
    return f"; did you mean policy.{close[0]}?" if close else ""


def policy_option_problem(
    parser: OverridesParser, name: str, job: list[str], *, multirun: bool
) -> UserError | None:
    """If the job sets an option its policy lacks, the error naming them (else None).

    Args:
        parser: Hydra's override parser.
        name: the primary config (``config``), composed without the job's policy options
            to learn its policy.
        job: the job's override lines.
        multirun: the job is a sweep's.
    """
    overrides = parser.parse_overrides(job)
    options = _policy_option_keys(overrides)
    if not options:
        return None
    rest = [o.input_line or "" for o in overrides if o not in options]
    try:
        policy = str(compose(config_name=name, overrides=rest).policy.name)
    except (*_COMPOSE_ERRORS, *CONFIG_ERRORS):
        return None
    for o in options:
        if policy not in _option_owners(o.key_or_group.split(".")[1]):
            return _policy_option_error(o.input_line or "", [policy], [policy], multirun=multirun)
    return None
