"""Filters of the django_env role: env file variables that refer to the stack's own service
URLs and secrets by name (django_env_env_refs), checked and resolved.

    django_env_env_refs:
      CELERY_BROKER_URL: redis_url                  # REDIS_URL as written in the env file
      CELERY_RESULT_BACKEND: redis_url:1            # the same Redis, database 1
      ANALYTICS_DATABASE_URL: database_url:analytics  # DATABASE_URL's server, database analytics

A reference is `<name>` or `<name>:<argument>`; the names are those of REFERENCES. The checks
(django_env_ref_problems) use names only, so the role runs them before anything changes and its
message can show them; the values (django_env_refs) hold passwords and stay in no_log tasks
and the 0600 env file.

Unit tests: tests/test_django_env_filters.py.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from ansible.errors import AnsibleFilterError

# name: what the argument after ':' is (None: it takes none), and what it means.
REFERENCES: dict[str, tuple[str | None, str]] = {
    "database_url": ("database", "DATABASE_URL; with :<database>, another database on the same server"),
    "redis_url": ("db", "REDIS_URL; with :<0-15>, another database of the same Redis"),
    "redis_password": (None, "the password of the stack's Redis"),
    "postgres_password": (None, "the password of the stack's PostgreSQL"),
    "secret_key": (None, "DJANGO_SECRET_KEY"),
}
_SHELL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DATABASE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_REDIS_DB = re.compile(r"^(0|[1-9][0-9]?)$")
VARIABLE = "django_env_env_refs"


def _known() -> str:
    return ", ".join(f"{name}:<{arg}>" if arg else name for name, (arg, _) in REFERENCES.items()) \
        + " (database_url and redis_url also without an argument)"


def _split(reference: object) -> tuple[str, str | None]:
    if not isinstance(reference, str):
        return "", None
    name, sep, argument = reference.strip().partition(":")
    return name, (argument if sep else None)


def django_env_ref_problems(refs: object, extra_env: object = None, databases: object = None,
                            reserved: object = ()) -> list[str]:
    """What is wrong with django_env_env_refs, one message per problem, each naming the
    variable; [] when it is good. databases: the stack's PostgreSQL databases (a
    `database_url:<name>` must be one of them), or None when DATABASE_URL is not the stack's
    (any database name is accepted). reserved: names the role writes itself; extra_env: the
    names django_env_extra_env sets. Never looks at a secret."""
    if refs in (None, ""):
        return []
    if not isinstance(refs, dict):
        return [f"{VARIABLE} must be a mapping of env variable names to references ({_known()}), "
                f"got a {type(refs).__name__}"]
    problems = []
    taken = set(reserved or ())
    others = set((extra_env or {}).keys()) if isinstance(extra_env, dict) else set()
    for key, reference in refs.items():
        where = f"{VARIABLE}.{key}"
        if not isinstance(key, str) or not _SHELL_NAME.match(key):
            problems.append(f"{VARIABLE}: {key!r} is not a shell variable name (letters, digits, _)")
            continue
        if key in taken:
            problems.append(f"{where}: {key} is written by the role itself; choose another name")
        if key in others:
            problems.append(f"{where}: {key} is also set in django_env_extra_env; set it in one of the two")
        name, argument = _split(reference)
        if name not in REFERENCES:
            problems.append(f"{where}: {reference!r} is not a known reference; known: {_known()}")
            continue
        kind = REFERENCES[name][0]
        if argument is None:
            continue
        if kind is None:
            problems.append(f"{where}: {name} takes no argument, got {reference!r}")
        elif kind == "db" and (not _REDIS_DB.match(argument) or int(argument) > 15):
            problems.append(f"{where}: the Redis database in {reference!r} must be a number from 0 to 15")
        elif kind == "database" and not _DATABASE.match(argument):
            problems.append(f"{where}: the database in {reference!r} must be a lower-case identifier")
        elif kind == "database" and databases is not None and argument not in databases:
            problems.append(f"{where}: {argument!r} is not a database of the stack's PostgreSQL "
                            f"(it has {sorted(databases)}; add it to postgres_extra_databases)")
    return problems


def django_env_extra_env_problems(extra_env: object, own: object) -> list[str]:
    """What is wrong with django_env_extra_env's names: a variable the role writes itself
    (own: {name: the role variable that sets it, '' for none}) is refused, naming the variable to set
    instead; the env file would otherwise export the extra value after the role's, and
    DATABASE_URL's would then be migrated as if it were the stack's database. Names only:
    the values may be secrets."""
    if not isinstance(extra_env, dict) or not isinstance(own, dict):
        return []
    problems = []
    for key in sorted(k for k in extra_env if k in own):
        problem = (f"django_env_extra_env.{key}: {key} is written by the role itself; "
                   + (f"set {own[key]} instead" if own[key] else "choose another name"))
        if key == "DATABASE_URL":
            problem += (" (a database that is not the stack's own is then migrated only with "
                        "django_env_migrate_external)")
        problems.append(problem)
    return problems


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path="/" + database).geturl()


def _with_redis_db(url: str, db: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":   # unix:///run/redis.sock?db=0
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "db"]
        # Rebuilt by hand: urlunsplit would drop the empty host (unix:/run/...).
        return url.split("?", 1)[0] + "?" + urlencode([*query, ("db", db)])
    return parts._replace(path="/" + db).geturl()


def django_env_refs(refs: object, values: dict[str, str]) -> dict[str, str]:
    """{env name: value} of django_env_env_refs, from the values the role computed
    (database_url, redis_url, redis_password, postgres_password, secret_key). Checked by
    django_env_ref_problems first; a bad reference here still fails, naming the variable but
    no value."""
    problems = django_env_ref_problems(refs)
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    resolved = {}
    for key, reference in (refs or {}).items():
        name, argument = _split(reference)
        if name not in values or values[name] in (None, ""):
            raise AnsibleFilterError(f"{VARIABLE}.{key}: {name} has no value in this run")
        value = str(values[name])
        if argument is not None and name == "database_url":
            value = _with_database(value, argument)
        elif argument is not None and name == "redis_url":
            value = _with_redis_db(value, argument)
        resolved[key] = value
    return resolved


class FilterModule:
    def filters(self):
        return {
            "django_env_extra_env_problems": django_env_extra_env_problems,
            "django_env_ref_problems": django_env_ref_problems,
            "django_env_refs": django_env_refs,
        }
