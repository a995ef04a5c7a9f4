"""Every error the service raises on purpose, under one root.

    BrowsingError
    ├── ConfigError                 bad settings at start-up
    ├── RequestError                a client's request is wrong (gateway answers 4xx)
    │   ├── ValidationError         400: a field is missing or out of range
    │   ├── AuthError               401: no key, or an unknown key
    │   ├── ForbiddenError          403: the task belongs to another user
    │   ├── NotFoundError           404: no such task or file
    │   ├── ConflictError           409: the task is already finished
    │   ├── PayloadTooLarge         413: an upload is larger than allowed
    │   ├── LimitExceeded           429: a per-user limit refuses the submit (Retry-After)
    │   ├── UnsupportedMediaType    415: the body is declared as something other than JSON
    │   └── IdempotencyMismatch     422: an Idempotency-Key already used for another request
    ├── BackendUnavailable          503: Redis or S3 cannot be reached
    ├── StorageError                an S3 operation failed
    ├── RoutingError                no live node matches a task's filter
    ├── EgressRefused               the egress policy refuses a destination
    └── AgentError                  the browsing agent could not do its job
        ├── InstructionNotUnderstood  a part of the instruction has no rule
        ├── ActionFailed              an action could not be carried out on the page
        ├── DeadlineExceeded          the task ran past its timeout
        ├── AttemptCancelled          the attempt was cancelled (lost a race, or by the user)
        ├── PlannerFailed             no usable action from the planner (model unreachable,
        │                             or its replies unusable after every retry)
        ├── StepLimitReached          not finished within the template's max_steps
        ├── TaskGaveUp                the planner said it could not do the task
        └── UploadUnavailable         an upload the task lists could not be fetched

Errors from third-party libraries are translated at the boundary into these
types with ``raise OurError(...) from exc``. A class docstring is its default message.
"""

from __future__ import annotations


class BrowsingError(Exception):
    """The browsing service failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(BrowsingError):
    """The configuration is invalid."""


class RequestError(BrowsingError):
    """The request is invalid."""

    status_code = 400


class ValidationError(RequestError):
    """The request body is invalid."""

    status_code = 400


class AuthError(RequestError):
    """Missing or invalid API key: send 'Authorization: Bearer <key>'."""

    status_code = 401


class ForbiddenError(RequestError):
    """This task belongs to a different user."""

    status_code = 403


class NotFoundError(RequestError):
    """Not found."""

    status_code = 404


class ConflictError(RequestError):
    """The task has already finished."""

    status_code = 409


class PayloadTooLarge(RequestError):
    """The request body is too large."""

    status_code = 413


class LimitExceeded(RequestError):
    """Too many requests: a per-user limit was reached."""

    status_code = 429

    def __init__(self, message: str, *, limit: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.limit = limit  # max_active, max_queued or rate
        self.retry_after_s = retry_after_s


class UnsupportedMediaType(RequestError):
    """The request body must be JSON: send 'Content-Type: application/json'."""

    status_code = 415


class IdempotencyMismatch(RequestError):
    """This Idempotency-Key was already used for a different request."""

    status_code = 422


class BackendUnavailable(BrowsingError):
    """A backend service is unavailable; try again shortly."""

    status_code = 503


class StorageError(BrowsingError):
    """The screenshot storage failed."""


class RoutingError(BrowsingError):
    """No live browsing node matches the task's filter."""


class EgressRefused(BrowsingError):
    """egress refused: the destination is not allowed."""

    def __init__(self, message: str | None = None, *, reason: str = "denied", target: str = ""):
        super().__init__(message)
        self.reason = reason  # a bounded label: scheme, loopback, private, ..., denied
        self.target = target  # host:port (or "scheme:") as the browser asked for it


class AgentError(BrowsingError):
    """The browsing agent failed."""


class InstructionNotUnderstood(AgentError):
    """A part of the instruction could not be understood."""


class ActionFailed(AgentError):
    """An action could not be carried out on the page."""


class DeadlineExceeded(AgentError):
    """The task ran past its timeout."""


class AttemptCancelled(AgentError):
    """The attempt was cancelled."""


class PlannerFailed(AgentError):
    """The planner could not choose the next action."""


class StepLimitReached(AgentError):
    """The task was not finished within the template's max_steps."""


class TaskGaveUp(AgentError):
    """The planner said it could not do the task."""


class UploadUnavailable(AgentError):
    """An upload the task lists could not be fetched."""
