"""Run a whole model output the way the app does (the twin of ``Planner.java``): call by call,
resolving nested ``resultN`` references to what the earlier call actually returned (the
original DroidCall app passed the literal text ``result0`` on). Errors are per call: a failing
call becomes an error step and only the calls that use its result fail with it.
"""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .calls import Call, ResultRef
from .device import DryRunDevice, SimulatedDevice
from .intent_types import Intent, MappingError, Step
from .mapper import map_call


def _resolve(v: Any, results: dict[int, Any], steps: dict[int, Step], fn: str) -> Any:
    if isinstance(v, ResultRef):
        step = steps.get(v.n)
        if step is None:
            raise MappingError("unresolved_reference", f"{fn}(): result{v.n} does not exist")
        if step.error is not None:
            raise MappingError("unresolved_reference", f"{fn}(): result{v.n} is not available (that call failed)")
        value = results.get(v.n)
        if value is None:
            raise MappingError("unresolved_reference", f"{fn}(): result{v.n} has no value ({step.function} returned nothing)")
        return value
    if isinstance(v, list):
        return [_resolve(x, results, steps, fn) for x in v]
    if isinstance(v, dict):
        return {k: _resolve(x, results, steps, fn) for k, x in v.items()}
    return v


def plan(calls: list[Call], device: SimulatedDevice | None = None, tz: str = "UTC") -> list[Step]:
    """Map and "execute" calls in order; each step holds its intent/query or its error, and its result."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{tz}'") from None
    device = device if device is not None else SimulatedDevice()
    dry = isinstance(device, DryRunDevice)
    steps: dict[int, Step] = {}
    results: dict[int, Any] = {}
    out: list[Step] = []
    for call in calls:
        step = Step(call.id, call.name)
        try:
            if dry:
                args = _dry_resolve(call.arguments, steps, call.name)
            else:
                args = _resolve(call.arguments, results, steps, call.name)
            action = map_call(call.name, args, tz)
            if isinstance(action, Intent):
                step.intent = action
                step.result = device.start(call.id, call.name, action)
            else:
                step.query = action
                step.result = device.query(action)
            if dry and (step.intent is None or step.intent.returns is not None):
                step.result = f"result{call.id}"
        except MappingError as e:
            step.error = e
        steps[call.id] = step
        results[call.id] = step.result
        out.append(step)
    return out


def _dry_resolve(v: Any, steps: dict[int, Step], fn: str) -> Any:
    if isinstance(v, ResultRef):
        step = steps.get(v.n)
        if step is not None and step.error is not None:
            raise MappingError("unresolved_reference", f"{fn}(): result{v.n} is not available (that call failed)")
        return f"result{v.n}"
    if isinstance(v, list):
        return [_dry_resolve(x, steps, fn) for x in v]
    if isinstance(v, dict):
        return {k: _dry_resolve(x, steps, fn) for k, x in v.items()}
    return v
