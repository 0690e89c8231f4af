"""Validates datasource bodies the way DB-GPT's Python client reads them.

`dbgpt_client.datasource` builds a `DatasourceModel` from every `data` it
receives (create, update, get, delete; each item of the list). The model
below restates its field types: an integer `id` and `db_port`, strings for
the rest. Reads a JSON list of datasources on stdin.
"""
import json
import sys
from typing import Optional

from pydantic import BaseModel


class DatasourceModel(BaseModel):
    id: Optional[int] = None
    db_type: str
    db_name: str
    db_path: str = ""
    db_host: str = ""
    db_port: int = 0
    db_user: str = ""
    db_pwd: str = ""
    comment: str = ""


def main() -> None:
    items = json.load(sys.stdin)
    for item in items:
        DatasourceModel(**item)
    print(f"validated {len(items)} datasources")


if __name__ == "__main__":
    main()
