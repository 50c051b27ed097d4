"""The inbox: messages between terminals, delivered in order, exactly once, when the receiver is ready.

Promises (docs/inbox.md):
* a message is stored before it is acknowledged;
* it is typed into the receiver only when the receiver is ready (idle or completed);
* per receiver, in the order they were sent, one at a time;
* exactly once: each message carries a header ``[Message N from …]``; before any retry the
  receiver's scrollback is searched for it, so a message is never typed twice;
* delivery is confirmed by seeing the receiver start working, else retried with backoff and
  finally marked failed, with the reason visible to the sender (in its own inbox, too);
* pending messages survive a server restart and are delivered after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlmodel import select

from cao import validation
from cao.errors import InvalidInput, NotFound
from cao.models import InboxMessage, InboxMessageRecord, TerminalRecord, utcnow
from cao.monitor import TerminalMonitor
from cao.services import delivery, terminals
from cao.services.runtime import Runtime
from cao.status import Status
from cao.store import open_session

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
SWEEP_INTERVAL_S = 2.0
SYSTEM_SENDER = "cao"


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30.0, 0.5 * 2 ** (attempts - 1)))


def header(record: InboxMessageRecord, sender_label: str) -> str:
    return f"[Message {record.id} from {sender_label}]"


def to_public(record: InboxMessageRecord) -> InboxMessage:
    return InboxMessage(**record.model_dump(include=set(InboxMessage.model_fields)))


class Inbox:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.in_flight: set[str] = set()

    # --- storing -----------------------------------------------------------------------

    def enqueue(self, *, sender_id: str, receiver_id: str, message: str) -> InboxMessageRecord:
        validation.message(message)
        if not sender_id or len(sender_id) > 64:
            raise InvalidInput("sender_id must be 1-64 characters")
        if sender_id == receiver_id:
            raise InvalidInput(f"terminal {sender_id} cannot send a message to itself")
        terminals.get_record(self.rt, receiver_id)  # NotFound for an unknown receiver
        record = InboxMessageRecord(sender_id=sender_id, receiver_id=receiver_id, message=message)
        with open_session(self.rt.db) as db:
            db.add(record)
            db.commit()
            db.refresh(record)
        self.rt.bus.publish("message.queued", message_id=record.id, sender_id=sender_id, receiver_id=receiver_id)
        self.pump(receiver_id)
        return record

    def list(self, terminal_id: str, *, status: str | None, limit: int, sent: bool) -> list[InboxMessage]:
        if status is not None and status not in ("pending", "delivered", "failed"):
            raise InvalidInput(f"invalid status {status!r}; use pending, delivered or failed")
        column = InboxMessageRecord.sender_id if sent else InboxMessageRecord.receiver_id
        query = select(InboxMessageRecord).where(column == terminal_id)
        if status:
            query = query.where(InboxMessageRecord.status == status)
        with open_session(self.rt.db) as db:
            rows = db.exec(query.order_by(InboxMessageRecord.id.desc()).limit(limit)).all()
        return [to_public(r) for r in reversed(rows)]

    # --- delivering --------------------------------------------------------------------

    def on_status(self, monitor: TerminalMonitor, _previous: Status) -> None:
        if monitor.status.ready or monitor.exit_reason or self._eager(monitor):
            self.pump(monitor.terminal_id)

    def pump(self, receiver_id: str) -> None:
        if receiver_id not in self.in_flight:
            self.rt.background(self._deliver_next(receiver_id))

    def pump_all(self) -> None:
        with open_session(self.rt.db) as db:
            receivers = set(db.exec(select(InboxMessageRecord.receiver_id)
                                    .where(InboxMessageRecord.status == "pending")).all())
        for receiver_id in receivers:
            self.pump(receiver_id)

    async def sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            self.pump_all()

    def _eager(self, monitor: TerminalMonitor) -> bool:
        return (self.rt.settings.eager_inbox and monitor.provider.queues_input_while_busy
                and monitor.status is Status.PROCESSING)

    def _ready(self, monitor: TerminalMonitor) -> bool:
        return ((monitor.status.ready or self._eager(monitor)) and (monitor.mcp_ready or not monitor.needs_mcp)
                and not monitor.input_lock.locked())

    def _next_pending(self, receiver_id: str) -> InboxMessageRecord | None:
        with open_session(self.rt.db) as db:
            return db.exec(select(InboxMessageRecord)
                           .where(InboxMessageRecord.receiver_id == receiver_id,
                                  InboxMessageRecord.status == "pending")
                           .order_by(InboxMessageRecord.id).limit(1)).first()

    def _save(self, record: InboxMessageRecord) -> None:
        with open_session(self.rt.db) as db:
            db.add(record)
            db.commit()

    async def _deliver_next(self, receiver_id: str) -> None:
        if receiver_id in self.in_flight:
            return
        message = self._next_pending(receiver_id)
        if message is None:
            return
        if message.next_attempt_at and message.next_attempt_at.replace(tzinfo=utcnow().tzinfo) > utcnow():
            return  # backing off; the sweep comes back
        monitor = self.rt.engine.monitors.get(receiver_id)
        if monitor is None or monitor.exit_reason:
            self._fail_if_receiver_gone(receiver_id, monitor)
            return
        if not self._ready(monitor):
            return
        self.in_flight.add(receiver_id)
        try:
            await self._attempt(message, monitor)
        finally:
            self.in_flight.discard(receiver_id)

    async def _attempt(self, message: InboxMessageRecord, monitor: TerminalMonitor) -> None:
        top = header(message, self._sender_label(message.sender_id))
        if message.attempts > 0 and await delivery.text_is_visible(self.rt, monitor, top):
            # Typed in by an earlier attempt (before a crash, or unconfirmed): never type it twice.
            await terminals.send_key(self.rt, monitor.terminal_id, "Enter")
            self._mark(message, "delivered")
            return
        message.attempts += 1
        message.next_attempt_at = utcnow() + backoff(message.attempts)
        self._save(message)  # recorded before typing, so a crash right after is seen as an attempt
        try:
            if self._eager(monitor):
                # The CLI shows queued input only when its turn ends: tmux taking the paste is the receipt.
                await terminals.send_input(self.rt, monitor.terminal_id, f"{top}\n{message.message}",
                                           new_turn=False)
            else:
                await delivery.deliver(self.rt, monitor, f"{top}\n{message.message}", probe=top)
        except Exception as exc:
            log.warning("delivery of message %s failed: %s", message.id, exc)
            if message.attempts >= MAX_ATTEMPTS or monitor.exit_reason:
                self._mark(message, "failed", f"not delivered after {message.attempts} attempts: {exc}")
            else:
                message.error = str(exc)
                self._save(message)
                self.rt.engine.loop.call_later(backoff(message.attempts).total_seconds(), self.pump,
                                               message.receiver_id)
            return
        self._mark(message, "delivered")

    def _mark(self, message: InboxMessageRecord, status: str, error: str | None = None) -> None:
        message.status = status
        message.error = error
        if status == "delivered":
            message.delivered_at = utcnow()
        self._save(message)
        self.rt.bus.publish(f"message.{status}", message_id=message.id, sender_id=message.sender_id,
                            receiver_id=message.receiver_id, **({"error": error} if error else {}))
        if status == "failed" and message.sender_id != SYSTEM_SENDER \
                and validation.TERMINAL_ID.fullmatch(message.sender_id):
            with contextlib.suppress(NotFound):  # the sender may be gone too
                self.enqueue(sender_id=SYSTEM_SENDER, receiver_id=message.sender_id,
                             message=f"Your message {message.id} to terminal {message.receiver_id} could not be "
                                     f"delivered: {error}")

    def _fail_if_receiver_gone(self, receiver_id: str, monitor: TerminalMonitor | None) -> None:
        with open_session(self.rt.db) as db:
            record = db.get(TerminalRecord, receiver_id)
        if monitor is None and record is not None and record.exit_reason is None:
            return  # not adopted yet (server starting): keep waiting
        reason = (monitor.exit_reason if monitor else None) or (record.exit_reason if record else None) \
            or "the receiver was deleted"
        while (message := self._next_pending(receiver_id)) is not None:
            self._mark(message, "failed", f"terminal {receiver_id} is not running: {reason}")

    def _sender_label(self, sender_id: str) -> str:
        if sender_id == SYSTEM_SENDER:
            return "cao"
        if validation.TERMINAL_ID.fullmatch(sender_id):
            with open_session(self.rt.db) as db:
                record = db.get(TerminalRecord, sender_id)
            if record is not None:
                return f"terminal {sender_id} ({record.agent_profile})"
            return f"terminal {sender_id}"
        return sender_id
