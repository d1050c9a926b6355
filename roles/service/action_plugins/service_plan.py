"""Action plugin service_plan: the service role's fast path as one task.

In one task, on the controller (no module runs unless the host has to be listed):
  0. the service_* variables are validated against the role's argument spec (`main` in
     meta/argument_specs.yml), as the validation task Ansible prepends to a role would: the
     includes say `rolespec_validate: false`, so the check costs no task of its own;
  1. the declaration names its container, image, network and stack, and its log settings are
     well formed (the message names the role);
  2. the host's listing: the one this run keeps already (`listing`, the fact service_listing),
     else the docker_host stage's (`host_info`), else community.docker.docker_host_info is run
     on the host once (the project's containers, every image, network and volume);
  3. the declaration is hashed (service_config_hash: secret files only through PBKDF2) and
     compared with the listed container (service_plan).

Returns (register it): listed_from (run, stage or host: where the listing came from), listing
(only when this task listed the host or converted the stage's listing: the caller keeps it as
the fact service_listing with set_fact, so it has set_fact's precedence), and for a declaration
hash and plan ({current, reason}). Without `container`, only step 2 runs: the listing other
roles ask for (tasks_from: listing). Changes nothing anywhere (changed is always false) and
runs in check mode alike. Filters: filter_plugins/service_plumbing.py; unit tests:
tests/test_service_plan_action.py.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

_SPEC = importlib.util.spec_from_file_location(
    "service_plumbing", Path(__file__).resolve().parent.parent / "filter_plugins" / "service_plumbing.py")
plumbing = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(plumbing)

LISTING_ARGS = {
    "containers": True, "containers_all": True,
    "containers_filters": {"label": "org.devstack.project=devstack"},
    "images": True, "networks": True, "volumes": True, "verbose_output": True,
}
_LOG_SIZE = re.compile(r"^[1-9][0-9]*[kmg]$")
_AFTER_SPEC = frozenset(("declaration", "files"))
_ARGUMENT_SPECS = Path(__file__).resolve().parent.parent / "meta" / "argument_specs.yml"


def main_spec(path: Path = _ARGUMENT_SPECS) -> dict:
    """The options of a role's `main` entry point (its meta/argument_specs.yml; this role's by
    default). {} when the role has no such file or entry point."""
    try:
        with Path(path).open(encoding="utf-8") as handle:
            specs = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except FileNotFoundError:
        return {}
    return ((specs.get("argument_specs") or {}).get("main") or {}).get("options") or {}


def spec_problems(values: dict, spec: dict) -> list[str]:
    """The argument spec's messages for the values a role was given ([] when valid). A dict or
    list option given as a string is named too: the validator accepts one it can convert
    (JSON, k=v, a,b), but only in its own copy, so the role would read the string
    (`-e name='{"A": "1"}'` gives a string). The value is not shown: it may hold a secret."""
    problems = list(ArgumentSpecValidator(spec).validate(values, validate_role_argument_spec=True).error_messages)
    for name, option in spec.items():
        kind = option.get("type")
        if kind in ("dict", "list") and isinstance(values.get(name), str) and not any(f"'{name}'" in p for p in problems):
            problems.append(f"{name} must be a {kind}, got a string: `-e {name}=...` gives a string; give it as JSON, "
                            f"-e '{{\"{name}\": ...}}', or in a vars file")
    return problems


def vars_spec_problems(spec: dict, task_vars: dict, template) -> list[str]:
    """spec_problems for the values task_vars holds of the spec's options, templated with
    `template` (the action's templar), as Ansible's own validation task reads them."""
    if not spec:
        return []
    return spec_problems(template({name: task_vars[name] for name in spec if name in task_vars}), spec)


def declaration_problem(args: dict) -> str:
    """'' when the declaration is complete, else the message (as main.yml's assert gave it)."""
    state = args.get("state", "started")
    try:
        files_ok = int(str(args.get("log_max_file", 1))) >= 1
    except ValueError:
        files_ok = False
    named = bool(args.get("container"))
    complete = state == "absent" or all(args.get(key) for key in ("image", "network", "stack"))
    sized = bool(_LOG_SIZE.match(str(args.get("log_max_size", "10m")))) and files_ok
    if named and complete and sized:
        return ""
    return (f"the {args.get('role', 'service')} role declared a service without service_container, service_image, "
            f"service_network or service_stack, or with service_log_max_size ({args.get('log_max_size')}: a size such "
            f"as 10m) or service_log_max_file ({args.get('log_max_file')}: 1 or more) malformed")


def plan(args: dict, listing: dict) -> dict:
    """The hash and the plan of one declaration against a listing."""
    state = args.get("state", "started")
    config_hash = ""
    if state != "absent":
        config_hash = plumbing.service_config_hash(args.get("declaration") or {}, args.get("files") or [],
                                                   f"{args.get('stack', '')}/{args['container']}")
    return {"hash": config_hash,
            "plan": plumbing.service_plan(listing, args["container"], state, args.get("image", ""),
                                                   config_hash, bool(args.get("healthcheck")))}


class AfterSpecAction(ActionBase):
    """An action whose arguments named in AFTER_SPEC are templated in run(), after the argument
    spec check, so that a malformed value is named by the spec rather than by a filter's error
    (ansible-core 2.19's hook, as its own assert action uses it for `that`;
    tests/test_service_plan_action.py runs it end to end)."""
    AFTER_SPEC: frozenset[str] = frozenset()

    @classmethod
    def finalize_task_arg(cls, name, value, templar, context):
        if name in cls.AFTER_SPEC:
            return value
        return super().finalize_task_arg(name, value, templar, context)


class ActionModule(AfterSpecAction):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("container", "state", "image", "network", "stack", "role", "declaration", "files",
                             "healthcheck", "log_max_size", "log_max_file", "listing", "host_info"))
    # Built from the service_* values by the role's filters.
    AFTER_SPEC = _AFTER_SPEC

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result["changed"] = False
        args = self._task.args
        if "container" in args:
            errors = vars_spec_problems(main_spec(), task_vars or {}, self._templar.template)
            if errors:
                return {**result, "failed": True, "argument_errors": errors,
                        "msg": f"Validation of the {args.get('role', 'service')} role's service declaration failed:\n"
                               + "\n".join(errors)}
            args = {**args, **{name: self._templar.template(args[name]) for name in _AFTER_SPEC if name in args}}
            problem = declaration_problem(args)
            if problem:
                return {**result, "failed": True, "msg": problem}
        listing = args.get("listing")
        # Where the listing came from (shown with -v): this run's kept fact, the docker_host
        # stage's call, or a call of this task's own on the host.
        result["listed_from"] = "run"
        if not listing:
            if args.get("host_info"):
                result["listed_from"] = "stage"
                listing = plumbing.service_listing(args["host_info"])
            else:
                result["listed_from"] = "host"
                listed = self._execute_module(module_name="community.docker.docker_host_info",
                                              module_args=dict(LISTING_ARGS), task_vars=task_vars)
                if listed.get("failed"):
                    return {**result, "failed": True,
                            "msg": f"the Docker host could not be listed: {listed.get('msg', listed)}"}
                listing = plumbing.service_listing(listed)
            result["listing"] = listing
        if "container" in args:
            result.update(plan(args, listing))
        return result
