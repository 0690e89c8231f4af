"""Validates app bodies the way DB-GPT's Python client reads them.

The models below restate the client's documented field types (strings for
scalar fields and `resources[].value`, ISO datetimes), so a response that
would break `dbgpt_client` fails here. `team_context` is a string, an AWEL
team object (with a `dag_id`) or another object: the client declares only
the first two, but DB-GPT's own server returns native apps' scenes as
objects (`NativeTeamContext`), and so does this one. Reads a JSON list of
apps on stdin.
"""
import json
import sys
from datetime import datetime
from typing import Any, Dict, List, Optional, Union

from pydantic import BaseModel


class AWELTeam(BaseModel):
    dag_id: str
    uid: Optional[str] = None
    name: Optional[str] = None
    label: Optional[str] = None
    version: Optional[str] = None
    description: Optional[str] = None
    editable: bool = False
    state: Optional[str] = None
    user_name: Optional[str] = None
    sys_code: Optional[str] = None
    flow_category: Optional[str] = "common"


class Resource(BaseModel):
    type: str
    name: str
    value: str
    is_dynamic: bool = False


class Detail(BaseModel):
    app_code: Optional[str] = None
    app_name: Optional[str] = None
    agent_name: Optional[str] = None
    node_id: Optional[str] = None
    resources: Optional[List[Resource]] = None
    prompt_template: Optional[str] = None
    llm_strategy: Optional[str] = None
    llm_strategy_value: Optional[str] = None
    created_at: datetime
    updated_at: datetime


class App(BaseModel):
    app_code: Optional[str] = None
    app_name: Optional[str] = None
    app_describe: Optional[str] = None
    team_mode: Optional[str] = None
    language: Optional[str] = "en"
    team_context: Optional[Union[str, AWELTeam, Dict[str, Any]]] = None
    user_code: Optional[str] = None
    sys_code: Optional[str] = None
    is_collected: Optional[str] = None
    icon: Optional[str] = None
    created_at: datetime
    updated_at: datetime
    details: List[Detail] = []


def main() -> None:
    apps = json.load(sys.stdin)
    # pydantic 2 (model_validate) or 1 (parse_obj), whichever this python has
    validate = getattr(App, "model_validate", None) or App.parse_obj
    for app in apps:
        validate(app)
    print(f"validated {len(apps)} apps")


if __name__ == "__main__":
    main()
