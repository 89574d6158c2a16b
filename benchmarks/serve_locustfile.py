"""Locust users for ``benchmarks/serve_load.py``: each POSTs receipts to ``/verify`` and checks the verdict.

Closed loop: a user sends its next receipt as soon as the answer to the last one came, so the number of users
is the number of requests in flight. ``ANCHOR_LOAD_CASES`` names a JSON file of ``{"body", "verdict"}``
cases; an answer other than 200 with the expected verdict counts as a failure.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, constant, task

CASES = json.loads(Path(os.environ["ANCHOR_LOAD_CASES"]).read_text(encoding="utf-8"))


class VerifyingClient(FastHttpUser):
    wait_time = constant(0)

    @task
    def verify(self) -> None:
        case = random.choice(CASES)
        headers = {"Content-Type": "application/json"}
        with self.client.post(
            "/verify", data=case["body"], headers=headers, catch_response=True, name="POST /verify"
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
            elif (verdict := response.json().get("verdict")) != case["verdict"]:
                response.failure(f"verdict {verdict}, expected {case['verdict']}")
