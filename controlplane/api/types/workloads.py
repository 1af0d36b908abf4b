"""Rules shared by the workload kinds that stamp out pods from a template
(Deployment, ReplicaSet, DaemonSet, Job): the selector must be non-empty and
match the template's labels, the selector is immutable, and the CONTAINERS /
IMAGES / SELECTOR columns of `kubectl get -o wide`.
"""

from __future__ import annotations

from .. import errors, tables
from .. import validation as v
from ..errors import FieldError
from ..selectors import from_label_selector_object
from . import podspec_validation as psv

MAX_INT32 = 2**31 - 1


def selector_and_template(spec: dict, kind: str, restart_policies=("Always",),
                          path: str = "spec") -> list[FieldError]:
    """Kubernetes' ValidatePodTemplateSpecForReplicaSet and friends."""
    found: list[FieldError] = []
    selector = spec.get("selector")
    template = spec.get("template")
    if selector is None:
        found.append(errors.required(f"{path}.selector"))
    else:
        found += v.label_selector(f"{path}.selector", selector)
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            found.append(errors.invalid(f"{path}.selector", selector,
                                        f"empty selector is invalid for {kind}"))
    if template is None:
        found.append(errors.required(f"{path}.template"))
        return found
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector is not None and not found:
        try:
            matches = from_label_selector_object(selector).matches(labels)
        except errors.SelectorError:
            matches = True  # already reported by label_selector above
        if not matches:
            found.append(errors.invalid(f"{path}.template.metadata.labels", labels,
                                        "`selector` does not match template `labels`"))
    found += psv.template(template, f"{path}.template")
    tspec = template.get("spec") or {}
    policy = tspec.get("restartPolicy")
    if policy not in restart_policies and policy in psv.RESTART_POLICIES:
        found.append(errors.not_supported(f"{path}.template.spec.restartPolicy", policy,
                                          list(restart_policies)))
    if kind != "Job" and tspec.get("activeDeadlineSeconds") is not None:
        found.append(errors.forbidden(f"{path}.template.spec.activeDeadlineSeconds",
                                      "activeDeadlineSeconds in ReplicaSet is not Supported"))
    return found


def selector_immutable(spec: dict, old_spec: dict, path: str = "spec") -> list[FieldError]:
    if spec.get("selector") != old_spec.get("selector"):
        return [errors.invalid(f"{path}.selector", spec.get("selector"), v.IMMUTABLE)]
    return []


def int_or_percent(path: str, value) -> list[FieldError]:
    """maxSurge / maxUnavailable: a non-negative integer or a percentage."""
    if isinstance(value, int):
        return v.non_negative(path, value)
    if isinstance(value, str):
        if not value.endswith("%") or not value[:-1].isdigit():
            return [errors.invalid(path, value, v.regex_error(
                "a valid percent string must be a numeric string followed by an ending '%'",
                "[0-9]+%", "1%", "93%"))]
        if int(value[:-1]) > 100 and path.endswith("maxUnavailable"):
            return [errors.invalid(path, value, "must not be greater than 100%")]
    return []


def is_zero(value) -> bool:
    return value in (0, "0%") or value is None


def containers_images(obj: dict) -> tuple[str, str]:
    ctrs = ((((obj.get("spec") or {}).get("template") or {}).get("spec") or {})
            .get("containers") or [])
    return (",".join(c.get("name", "") for c in ctrs),
            ",".join(c.get("image", "") for c in ctrs))


WIDE_COLUMNS = [
    tables.column("Containers", "string", "Names of each container in the template.",
                  priority=1),
    tables.column("Images", "string", "Images referenced by each container in the "
                  "template.", priority=1),
    tables.column("Selector", "string", "Label selector for pods.", priority=1),
]


def wide_cells(obj: dict) -> list:
    names, images = containers_images(obj)
    return [names, images, tables.format_selector((obj.get("spec") or {}).get("selector"))]
