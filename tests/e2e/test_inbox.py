"""The inbox's promises, checked against the real server, tmux and mock agents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.errors import Conflict, InvalidInput, NotFound
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.helpers import last_reply, launch, pane_of, send_and_wait, tmux, write_script
from tests.mcp_helpers import call_tool


def post(api: ApiClient, receiver: str, message: str) -> int:
    """A message from the owner (the sender is whoever is authenticated: ``user``)."""
    return api.request("POST", f"/terminals/{receiver}/inbox/messages", body={"message": message})["message_id"]


def messages(api: ApiClient, terminal_id: str, **params: str) -> list[dict]:
    return api.get(f"/terminals/{terminal_id}/inbox/messages", limit=100, **params)


def scrollback(settings: Settings, terminal: dict) -> str:
    pane = pane_of(settings, terminal["session_name"], terminal["name"])
    return tmux(settings, "capture-pane", "-p", "-J", "-S", "-", "-t", pane).stdout


def busy_receiver(api: ApiClient, workdir: Path, tmp_path: Path, seconds: float) -> dict:
    script = write_script(tmp_path / "busy.json", [{"match": "^work", "steps": [{"wait": seconds},
                                                                                {"reply": "worked"}]}])
    terminal = launch(api, workdir, env={"CAO_MOCK_SCRIPT": str(script)})
    api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "work hard"})
    retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["status"] == "processing")
    return terminal


def test_ten_messages_to_a_busy_receiver_arrive_in_order_once_each(
    api: ApiClient, settings: Settings, workdir: Path, tmp_path: Path
) -> None:
    receiver = busy_receiver(api, workdir, tmp_path, 2.0)
    ids = [post(api, receiver["id"], f"note {i}") for i in range(10)]
    assert all(m["status"] == "pending" for m in messages(api, receiver["id"]))  # not typed into a busy agent
    retry_until(lambda: all(m["status"] == "delivered" for m in messages(api, receiver["id"])), 60,
                message="all delivered")
    retry_until(lambda: api.get(f"/terminals/{receiver['id']}")["status"] == "completed")
    text = scrollback(settings, receiver)
    seen = [int(n) for n in re.findall(r"^> \[Message (\d+) from user\]", text, re.MULTILINE)]
    assert seen == ids


def test_message_is_typed_only_when_receiver_is_ready(api: ApiClient, workdir: Path, tmp_path: Path) -> None:
    receiver = busy_receiver(api, workdir, tmp_path, 1.5)
    post(api, receiver["id"], "after your work")
    assert messages(api, receiver["id"])[0]["status"] == "pending"
    delivered = retry_until(lambda: messages(api, receiver["id"], status="delivered"), 20)
    assert delivered[0]["message"] == "after your work"


def test_awkward_content_arrives_whole_and_inert(api: ApiClient, workdir: Path) -> None:
    receiver = launch(api, workdir)
    body = "quotes \" ' ` $(rm -rf ~)\nnew line\n\tindented\nescape \x1b[2J\x1b[201~ still pasted\n" + "x" * 20000
    post(api, receiver["id"], body)
    retry_until(lambda: messages(api, receiver["id"], status="delivered"), 20)
    final = api.get(f"/terminals/{receiver['id']}/wait", status="completed", timeout=20)
    assert final["status"] == "completed"
    reply = api.get(f"/terminals/{receiver['id']}/output", mode="last")["output"]
    assert "$(rm -rf ~)" in reply and "␛[201~ still pasted" in reply and "x" * 20000 in reply.replace("\n", "")


def test_pending_messages_survive_sigkill_and_are_delivered_once(
    server: ServerProcess, settings: Settings, workdir: Path, tmp_path: Path
) -> None:
    api = server.client
    receiver = busy_receiver(api, workdir, tmp_path, 3.0)
    ids = [post(api, receiver["id"], f"survivor {i}") for i in range(5)]
    server.stop(sig="kill")
    server.start()
    retry_until(lambda: all(m["status"] == "delivered" for m in messages(api, receiver["id"])), 60,
                message="delivered after restart")
    retry_until(lambda: api.get(f"/terminals/{receiver['id']}")["status"] == "completed")
    text = scrollback(settings, receiver)
    seen = [int(n) for n in re.findall(r"^> \[Message (\d+) from user\]", text, re.MULTILINE)]
    assert seen == ids


def test_message_to_an_exited_receiver_fails_and_the_sender_hears_of_it(api: ApiClient, workdir: Path) -> None:
    sender = launch(api, workdir)
    receiver = api.request("POST", "/sessions/t1/terminals", timeout=60,
                           params={"agent_profile": "reviewer", "provider": "mock"})
    send_and_wait(api, receiver["id"], "busy for a moment")
    api.request("POST", f"/terminals/{receiver['id']}/key", params={"key": "C-d"})  # the agent exits
    retry_until(lambda: api.get(f"/terminals/{receiver['id']}")["exit_reason"], message="receiver exited")
    text, is_error = call_tool(api, sender["id"], "send_message",
                               {"message": "are you there?", "receiver_id": receiver["id"]})
    assert not is_error, text
    failed = retry_until(lambda: messages(api, receiver["id"], status="failed"), 20)
    assert "is not running" in failed[0]["error"]
    notice = retry_until(lambda: messages(api, sender["id"]), 20, message="sender notified")
    assert "could not be delivered" in notice[0]["message"]


def test_unknown_receiver_and_bad_requests(api: ApiClient, workdir: Path) -> None:
    receiver = launch(api, workdir)
    with pytest.raises(NotFound):
        post(api, "0badcafe", "hello")
    text, is_error = call_tool(api, receiver["id"], "send_message", {"message": "me", "receiver_id": receiver["id"]})
    assert is_error and "itself" in text
    with pytest.raises(InvalidInput, match="invalid status"):
        api.get(f"/terminals/{receiver['id']}/inbox/messages", status="lost")
    compat = api.request("POST", f"/terminals/{receiver['id']}/inbox/messages",
                         params={"sender_id": "user", "message": "query form"})  # the public CAO's form
    assert compat["success"] and compat["sender_id"] == "user"


def test_eager_delivery_types_into_a_busy_cli_that_queues_input(
    settings: Settings, workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAO_EAGER_INBOX_DELIVERY", "1")
    server = ServerProcess(settings)
    server.start()
    try:
        api = server.client
        receiver = busy_receiver(api, workdir, tmp_path, 3.0)
        post(api, receiver["id"], "queued while you work")
        delivered = retry_until(lambda: messages(api, receiver["id"], status="delivered"), 10)
        assert delivered and api.get(f"/terminals/{receiver['id']}")["status"] == "processing"
        retry_until(lambda: "queued while you work" in last_reply(api, receiver["id"]), 30,
                    message="the queued message was taken after the busy turn")
    finally:
        server.stop()


def test_nothing_is_typed_into_an_open_dialog(api: ApiClient, settings: Settings, workdir: Path,
                                              tmp_path: Path) -> None:
    script = write_script(tmp_path / "ask.json", [{"match": "^delete", "steps": [
        {"ask_permission": "rm -rf build"}, {"reply": "permission {{permission}}"}]}])
    terminal = launch(api, workdir, env={"CAO_MOCK_SCRIPT": str(script)})
    api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "delete the build folder"})
    retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["status"] == "waiting_user_answer")
    with pytest.raises(Conflict, match="waiting for an answer, so nothing is typed into it"):
        api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "1"})
    post(api, terminal["id"], "queued behind the question")
    assert messages(api, terminal["id"])[0]["status"] == "pending"
    assert "queued behind the question" not in scrollback(settings, terminal)
    api.request("POST", f"/terminals/{terminal['id']}/key", params={"key": "Escape"})  # the person answers
    retry_until(lambda: messages(api, terminal["id"], status="delivered"), 20,
                message="delivered once the question was answered")
    assert "permission denied" in scrollback(settings, terminal)
