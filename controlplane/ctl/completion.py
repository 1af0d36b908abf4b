"""Shell completion: `source <(superctl completion bash)` (or `zsh`).

The scripts are thin: the shell hands the words typed so far to the hidden
`superctl __complete WORD...`, which answers one candidate per line. It knows
the verbs and their sub-verbs, resource types (from the type registry, no server
needed), object names after a type (one list call, the namespace from `-n`),
namespaces after `-n`, contexts after `--context` and `config use-context`.
A server that cannot be reached only means fewer candidates, never an error.
"""

from __future__ import annotations

import argparse

from supernetes.controlplane.api import registry
from supernetes.controlplane.client import ClientError

from .context import CtlError, Ctx

BASH = r"""# superctl bash completion: source <(superctl completion bash)
_superctl() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local IFS=$'\n'
    local candidates
    candidates=$(superctl __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    COMPREPLY=( $(compgen -W "${candidates}" -- "${cur}") )
}
complete -o default -F _superctl superctl
"""

ZSH = r"""#compdef superctl
# superctl zsh completion: source <(superctl completion zsh)
if ! (( $+functions[compdef] )); then
    autoload -Uz compinit && compinit
fi
_superctl() {
    local -a candidates
    candidates=("${(@f)$(superctl __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    compadd -a candidates
}
compdef _superctl superctl
"""

TYPED_VERBS = {"get", "describe", "delete", "edit", "label", "annotate", "scale", "rollout"}
SUB_VERBS = {"rollout": ["status", "history", "undo", "restart", "pause", "resume"],
             "config": ["view", "current-context", "use-context", "get-contexts",
                        "set-context", "delete-context", "rename-context"],
             "create": ["namespace", "deployment", "configmap", "secret"],
             "top": ["nodes", "pods"], "completion": ["bash", "zsh"]}


def register(sub, parent) -> None:
    p = sub.add_parser("completion", parents=[parent], help="Output shell completion code",
                       description="Output shell completion code for bash or zsh, e.g. "
                                   "`source <(superctl completion bash)`.")
    p.add_argument("shell", choices=["bash", "zsh"])
    p.set_defaults(func=run)


def run(ctx: Ctx) -> int:
    ctx.out.write(BASH if ctx.args.shell == "bash" else ZSH)
    return 0


def _verbs() -> list[str]:
    from .cli import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def _type_names() -> list[str]:
    names = set()
    for rt in registry.all_types():
        names.update({rt.plural, rt.singular, *rt.short_names})
    return sorted(names)


def candidates(ctx: Ctx, words: list[str]) -> list[str]:
    words = list(words) or [""]
    current, before = words[-1], words[:-1]
    if before and before[-1] in ("-n", "--namespace"):
        return _names(ctx, "namespaces", None)
    if before and before[-1] == "--context" or before[-2:] == ["config", "use-context"]:
        return sorted(ctx.kubeconfig().contexts)
    if current.startswith("-"):
        return []
    positional = [w for i, w in enumerate(before) if not w.startswith("-") and
                  (i == 0 or before[i - 1] not in ("-n", "--namespace", "--context", "-o",
                                                   "-l", "-c", "--kubeconfig"))]
    if not positional:
        return _verbs()
    verb, rest = positional[0], positional[1:]
    if verb in SUB_VERBS and not rest:
        return SUB_VERBS[verb]
    if verb == "rollout":
        rest = rest[1:]
    if verb in TYPED_VERBS:
        if not rest:
            if "/" in current:
                kind = current.split("/", 1)[0]
                return [f"{kind}/{n}" for n in _names(ctx, kind, _namespace(before))]
            return _type_names()
        return _names(ctx, rest[0], _namespace(before))
    if verb in ("logs", "exec") and not rest:
        return _names(ctx, "pods", _namespace(before))
    if verb in ("cordon", "uncordon", "drain"):
        return _names(ctx, "nodes", None)
    return []


def _namespace(words: list[str]) -> str | None:
    for i, word in enumerate(words[:-1]):
        if word in ("-n", "--namespace"):
            return words[i + 1]
    return None


def _names(ctx: Ctx, kind: str, namespace: str | None) -> list[str]:
    try:
        info = ctx.resolve(kind)
        ns = (namespace or ctx.namespace) if info.namespaced else None
        items = ctx.client.resource_for(info).list(ns, limit=500).get("items") or []
    except (ClientError, CtlError):
        return []
    return sorted(i["metadata"]["name"] for i in items)


def complete(ctx: Ctx, words: list[str]) -> int:
    """`superctl __complete WORD...` (called by the scripts, parsed by `cli.main`)."""
    for candidate in candidates(ctx, words):
        ctx.print(candidate)
    return 0
