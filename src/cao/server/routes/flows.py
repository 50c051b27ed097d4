"""Flows (compatible with the public CAO's routes), plus each flow's run history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from cao.errors import InvalidInput
from cao.models import Success
from cao.server.deps import RuntimeDep
from cao.services.flows.records import Flow, FlowRun, RunStarted

router = APIRouter(prefix="/flows", tags=["flows"])
FlowName = Annotated[str, Path(max_length=64, description="the flow's name")]


class FlowBody(BaseModel):
    """Either ``file_path`` (a flow file cao reads) or the fields of one (the public CAO's form)."""
    model_config = ConfigDict(extra="allow")
    file_path: str | None = None
    name: str | None = None
    schedule: str | None = None
    agent_profile: str | None = None
    provider: str | None = None
    prompt_template: str | None = None


@router.get("", response_model=list[Flow])
async def list_flows(rt: RuntimeDep) -> Response:
    """Every flow, rendered once per change of anything it shows."""
    return Response(rt.flows.list_json(), media_type="application/json")


@router.post("", status_code=201)
async def add_flow(rt: RuntimeDep, body: FlowBody, replace: bool = False) -> Flow:
    """Validate and register a flow; nothing is stored when anything is wrong (400 names the field)."""
    fields: dict[str, Any] = body.model_dump(exclude_none=True)
    path = fields.pop("file_path", None)
    if path is not None:
        if fields:
            raise InvalidInput(f"give either file_path or the flow's fields, not both (got {', '.join(fields)})")
        return await rt.flows.add_file(path, replace=replace)
    return await rt.flows.add_fields(fields, replace=replace)


@router.get("/{name}")
async def get_flow(rt: RuntimeDep, name: FlowName) -> Flow:
    return rt.flows.show(name)


@router.delete("/{name}")
async def delete_flow(rt: RuntimeDep, name: FlowName) -> Success:
    """Remove the flow, its history and its session; a working run is stopped."""
    await rt.flows.remove(name)
    return Success()


@router.post("/{name}/enable")
async def enable_flow(rt: RuntimeDep, name: FlowName) -> Success:
    await rt.flows.set_enabled(name, True)
    return Success()


@router.post("/{name}/disable")
async def disable_flow(rt: RuntimeDep, name: FlowName) -> Success:
    await rt.flows.set_enabled(name, False)
    return Success()


@router.post("/{name}/run")
async def run_flow(rt: RuntimeDep, name: FlowName, wait: bool = False) -> RunStarted:
    """Run now. Answers once the gate has decided (``executed``), or with ``wait=true`` once the run ended."""
    return await rt.flows.run_now(name, wait=wait)


@router.get("/{name}/runs")
async def flow_runs(rt: RuntimeDep, name: FlowName, limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> list[FlowRun]:
    """The flow's runs, newest first."""
    return rt.flows.history(name, limit)
