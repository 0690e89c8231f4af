"""DB-GPT's Python client, restated, driven against a running server.

The real `dbgpt-client` package cannot be installed on the machines these
tests run on (no PyPI), so this file restates, from DB-GPT's source, the
parts of it a caller goes through:

- the response models of `dbgpt/core/schema/api.py` (`ChatCompletionResponse`,
  `ChatCompletionStreamResponse` and their choices, `DeltaMessage`,
  `UsageInfo`): field for field, with the `Literal["stop", "length"]` finish
  reasons;
- `dbgpt_client/client.py`: the request body (`ChatCompletionRequestBody`,
  sent with every field, unset ones as null), `chat` (a 200 is parsed as a
  `ChatCompletionResponse`, any other status is returned as the decoded JSON)
  and the `_chat_stream` loop line for line (stop at `data: [DONE]`, parse
  every other `data:` line as a `ChatCompletionStreamResponse`, turn any
  failure into `Failed to parse SSE data: …`; a non-200 yields the decoded
  body); `get` drops None parameters;
- the app helpers (`get_app`, `list_app`: `AppModel(**data)` from the Result
  envelope) with the models of `dbgpt_client/schema.py`. One type is widened:
  the client declares `team_context` as `str | AWELTeamModel`, which refuses
  the native-app objects DB-GPT's own server returns (`NativeTeamContext`,
  `{"chat_scene": ...}`); here it is `str | AWELTeamModel | dict`.

httpx (the client's transport) is not installed either: requests go through
urllib, and the stream is read line by line as `aiter_lines` yields it.

Usage: dbgpt_client_check.py <scenario> '<json args>'; prints one JSON result.
Needs DBGPT_API_BASE (…/api/v2) and DBGPT_API_KEY.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime
from typing import Any, Dict, List, Literal, Optional, Union

from pydantic import BaseModel, Field

# --- dbgpt/core/schema/api.py ---------------------------------------------


class UsageInfo(BaseModel):
    prompt_tokens: int = Field(0)
    total_tokens: int = Field(0)
    completion_tokens: Optional[int] = Field(0)


class DeltaMessage(BaseModel):
    role: Optional[str] = None
    content: Optional[str] = None
    reasoning_content: Optional[str] = None


class ChatCompletionResponseStreamChoice(BaseModel):
    index: int = Field(...)
    delta: DeltaMessage = Field(...)
    finish_reason: Optional[Literal["stop", "length"]] = Field(None)


class ChatCompletionStreamResponse(BaseModel):
    id: str = Field(default_factory=lambda: f"chatcmpl-{str(uuid.uuid1())}")
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str = Field(...)
    choices: List[ChatCompletionResponseStreamChoice] = Field(...)
    usage: UsageInfo = Field(default_factory=UsageInfo)


class ChatMessage(BaseModel):
    role: str = Field(...)
    content: str = Field(...)
    reasoning_content: Optional[str] = Field(None)


class ChatCompletionResponseChoice(BaseModel):
    index: int = Field(...)
    message: ChatMessage = Field(...)
    finish_reason: Optional[Literal["stop", "length"]] = Field(None)


class ChatCompletionResponse(BaseModel):
    id: str = Field(default_factory=lambda: f"chatcmpl-{str(uuid.uuid1())}")
    object: str = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str = Field(...)
    choices: List[ChatCompletionResponseChoice] = Field(...)
    usage: UsageInfo = Field(...)


# --- dbgpt_client/schema.py -------------------------------------------------


class ChatCompletionRequestBody(BaseModel):
    model: str = Field(...)
    messages: Union[str, List[str]] = Field(...)
    stream: bool = Field(default=True)
    temperature: Optional[float] = Field(default=None)
    max_new_tokens: Optional[int] = Field(default=None)
    conv_uid: Optional[str] = Field(default=None)
    span_id: Optional[str] = Field(default=None)
    chat_mode: Optional[str] = Field(default="chat_normal")
    chat_param: Optional[str] = Field(default=None)
    user_name: Optional[str] = Field(default=None)
    sys_code: Optional[str] = Field(default=None)
    incremental: bool = Field(default=True)
    enable_vis: bool = Field(default=True)


class AWELTeamModel(BaseModel):
    dag_id: str = Field(...)
    uid: str = Field(default=None)
    name: Optional[str] = Field(default=None)
    label: Optional[str] = Field(default=None)
    version: Optional[str] = Field(default=None)
    description: Optional[str] = Field(default=None)
    editable: bool = Field(default=False)
    state: Optional[str] = Field(default=None)
    user_name: Optional[str] = Field(default=None)
    sys_code: Optional[str] = Field(default=None)
    flow_category: Optional[str] = Field(default="common")


class AgentResourceModel(BaseModel):
    type: str
    name: str
    value: str
    is_dynamic: bool = False


class AppDetailModel(BaseModel):
    app_code: Optional[str] = Field(None)
    app_name: Optional[str] = Field(None)
    agent_name: Optional[str] = Field(None)
    node_id: Optional[str] = Field(None)
    resources: Optional[list[AgentResourceModel]] = Field(None)
    prompt_template: Optional[str] = Field(None)
    llm_strategy: Optional[str] = Field(None)
    llm_strategy_value: Optional[str] = Field(None)
    created_at: datetime = datetime.now()
    updated_at: datetime = datetime.now()


class AppModel(BaseModel):
    app_code: Optional[str] = Field(None)
    app_name: Optional[str] = Field(None)
    app_describe: Optional[str] = Field(None)
    team_mode: Optional[str] = Field(None)
    language: Optional[str] = Field("en")
    # widened, see the header: the client declares Union[str, AWELTeamModel]
    team_context: Optional[Union[str, AWELTeamModel, Dict[str, Any]]] = Field(None)
    user_code: Optional[str] = Field(None)
    sys_code: Optional[str] = Field(None)
    is_collected: Optional[str] = Field(None)
    icon: Optional[str] = Field(None)
    created_at: datetime = datetime.now()
    updated_at: datetime = datetime.now()
    details: List[AppDetailModel] = Field([])


# --- dbgpt_client/client.py ---------------------------------------------------


class ClientException(Exception):
    pass


class Client:
    def __init__(self, api_base: str, api_key: str):
        self._api_url = api_base
        self._headers = {"Authorization": f"Bearer {api_key}"}

    def _open(self, method: str, url: str, body: Optional[dict] = None):
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(req, timeout=60)
        except urllib.error.HTTPError as e:
            return e

    def chat(self, model, messages, chat_mode=None, chat_param=None, conv_uid=None, user_name=None,
             sys_code=None, incremental=True, enable_vis=True, **kwargs):
        request = ChatCompletionRequestBody(
            model=model, messages=messages, stream=False, temperature=None, max_new_tokens=None,
            chat_mode=chat_mode, chat_param=chat_param, conv_uid=conv_uid, user_name=user_name,
            sys_code=sys_code, span_id=None, incremental=incremental, enable_vis=enable_vis,
        )
        response = self._open("POST", self._api_url + "/chat/completions", request.model_dump())
        text = response.read().decode()
        if response.status == 200:
            json_data = json.loads(text)
            return ChatCompletionResponse(**json_data)
        return json.loads(text)

    def chat_stream(self, model, messages, chat_mode=None, chat_param=None, conv_uid=None, user_name=None,
                    sys_code=None, incremental=True, enable_vis=True, **kwargs):
        request = ChatCompletionRequestBody(
            model=model, messages=messages, stream=True, temperature=None, max_new_tokens=None,
            chat_mode=chat_mode, chat_param=chat_param, conv_uid=conv_uid, user_name=user_name,
            sys_code=sys_code, span_id=None, incremental=incremental, enable_vis=enable_vis,
        )
        yield from self._chat_stream(request.model_dump())

    def _chat_stream(self, data: Dict[str, Any]):
        response = self._open("POST", self._api_url + "/chat/completions", data)
        if response.status == 200:
            sse_data = ""
            for raw in response:
                line = raw.decode("utf-8").rstrip("\r\n")
                try:
                    if line.strip() == "data: [DONE]":
                        break
                    if line.startswith("data:"):
                        if line.startswith("data: "):
                            sse_data = line[len("data: "):]
                        else:
                            sse_data = line[len("data:"):]
                        json_data = json.loads(sse_data)
                        chat_completion_response = ChatCompletionStreamResponse(**json_data)
                        yield chat_completion_response
                except Exception as e:
                    raise Exception(f"Failed to parse SSE data: {e}, sse_data: {sse_data}")
        else:
            error = response.read()
            yield json.loads(error)

    def get(self, path: str, **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        query = f"?{urllib.parse.urlencode(kwargs)}" if kwargs else ""
        return self._open("GET", f"{self._api_url}/serve{path}{query}")

    def post(self, path: str, args):
        return self._open("POST", f"{self._api_url}/serve{path}", args)


# --- dbgpt_client/app.py ------------------------------------------------------


def get_app(client: Client, app_id: str) -> AppModel:
    try:
        result = json.loads(client.get("/apps/" + app_id).read())
        if result["success"]:
            return AppModel(**result["data"])
        raise ClientException(result)
    except Exception as e:
        raise ClientException(f"Failed to get app: {e}")


def list_app(client: Client, **params) -> List[AppModel]:
    try:
        result = json.loads(client.get("/apps", **params).read())
        if result["success"]:
            return [AppModel(**app) for app in result["data"]["app_list"]]
        raise ClientException(result)
    except Exception as e:
        raise ClientException(f"Failed to list apps: {e}")


# --- scenarios ------------------------------------------------------------------


def stream(client: Client, args: dict) -> dict:
    """What DB-GPT's documented callers do: `text += delta.content` over every chunk."""
    text = ""
    finish_reasons = []
    chunks = 0
    try:
        for chunk in client.chat_stream(**args):
            if isinstance(chunk, dict):
                return {"ok": True, "error_body": chunk}
            chunks += 1
            for choice in chunk.choices:
                text += choice.delta.content
                if choice.finish_reason is not None:
                    finish_reasons.append(choice.finish_reason)
    except Exception as e:  # the failure the caller would see
        return {"ok": False, "exception": f"{type(e).__name__}: {e}", "text": text}
    return {"ok": True, "text": text, "finish_reasons": finish_reasons, "chunks": chunks}


def streams(client: Client, args: dict) -> dict:
    """`stream` for each of `runs`, in one process."""
    return {"ok": True, "results": [stream(client, run) for run in args["runs"]]}


def chat(client: Client, args: dict) -> dict:
    try:
        res = client.chat(**args)
    except Exception as e:
        return {"ok": False, "exception": f"{type(e).__name__}: {e}"}
    if isinstance(res, dict):
        return {"ok": True, "error_body": res}
    return {"ok": True, "content": res.choices[0].message.content, "finish_reason": res.choices[0].finish_reason}


def apps(client: Client, args: dict) -> dict:
    """list_app with the given parameters; each app's name, collected flag and team_context."""
    try:
        listed = list_app(client, **args)
    except Exception as e:
        return {"ok": False, "exception": f"{type(e).__name__}: {e}"}
    return {"ok": True, "apps": [[a.app_name, a.is_collected] for a in listed]}


def create_and_get(client: Client, args: dict) -> dict:
    """POSTs a body (an app exported from DB-GPT), then reads it back with get_app."""
    res = client.post("/apps", args)
    body = json.loads(res.read())
    if res.status != 201:
        return {"ok": False, "status": res.status, "body": body}
    try:
        app = get_app(client, body["data"]["app_code"])
    except Exception as e:
        return {"ok": False, "exception": f"{type(e).__name__}: {e}"}
    return {"ok": True, "app": json.loads(app.model_dump_json())}


def native_scene(client: Client, args: dict) -> dict:
    """What a caller of a native app does with its context: index it."""
    data = json.loads(client.get("/apps/" + args["app_code"]).read())["data"]
    app = get_app(client, args["app_code"])
    return {"ok": True, "raw": data["team_context"]["chat_scene"], "model": app.team_context["chat_scene"]}


SCENARIOS = {"stream": stream, "streams": streams, "chat": chat, "apps": apps, "create_and_get": create_and_get, "native_scene": native_scene}


def main() -> None:
    client = Client(os.environ["DBGPT_API_BASE"], os.environ["DBGPT_API_KEY"])
    scenario, args = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(SCENARIOS[scenario](client, args), ensure_ascii=False))


if __name__ == "__main__":
    main()
