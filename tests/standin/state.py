"""Everything the stand-in remembers: the script, settings, recorded requests, files, running SD jobs.

One `StandinState` per server. The in-process `StandinServer` methods and the `/_standin/` control API both
call the methods here, so a test sees the same behaviour whichever way it drives the stand-in.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .behaviour import Effect, Rule, Script, ScriptError, parse_rules
from .catalog import sd_default_options
from .comfyui_exec import ComfyServer
from .openai_models import PRESETS

MAX_FILES = 256  # URL-format images kept for download; real URLs expire too (after 60 minutes)


SD_FLAVOURS = ("a1111", "a1111-old", "forge", "sdnext")


@dataclass
class Config:
    sd_auth: tuple[str, str] | None = None  # Basic auth on every /sdapi route, like --api-auth user:pass
    sd_flavour: str = "a1111"  # a1111 | a1111-old | forge | sdnext (see catalog.SD_FLAVOURS)
    sd_live_previews: bool = True  # /progress carries current_image while a job runs (unless skipped)
    # ids, {"id", "shutdown_date"} dicts, or a preset: "openai" (a direct key today) / "gateway" (default)
    openai_models: Any = None
    today: str | None = None  # YYYY-MM-DD the stand-in judges shutdown dates by (default: the real date)
    openrouter_key: dict[str, Any] = field(default_factory=dict)  # merged over the default /key data
    image_bytes_target: int | None = None  # default heaviness for every image (a rule can override)
    # ComfyUI has no auth: a proxy in front may ask for Basic ([user, password]) or Bearer ("token").
    comfyui_auth: Any = None
    comfyui_websocket: bool = True  # False: /ws is refused (403), as a proxy that blocks websockets does
    comfyui_previews: bool = True  # binary preview frames on the websocket while sampling
    comfyui_checkpoints: list[str] | None = None  # None: comfyui_nodes.CHECKPOINTS
    comfyui_upscale_models: list[str] | None = None  # None: comfyui_nodes.UPSCALE_MODELS

    @classmethod
    def build(cls, base: Config | None = None, **changes: Any) -> Config:
        known = {f.name for f in fields(cls)}
        unknown = set(changes) - known
        if unknown:
            raise ScriptError(f"unknown config keys: {sorted(unknown)}; known: {sorted(known)}")
        if changes.get("sd_auth") is not None:
            user, password = changes["sd_auth"]
            changes["sd_auth"] = (str(user), str(password))
        if "sd_flavour" in changes and changes["sd_flavour"] not in SD_FLAVOURS:
            raise ScriptError(f"sd_flavour must be one of {SD_FLAVOURS}")
        models = changes.get("openai_models")
        if isinstance(models, str) and models not in PRESETS:
            raise ScriptError(f"openai_models presets are {sorted(PRESETS)}, or give a list")
        auth = changes.get("comfyui_auth")
        if auth is not None and not isinstance(auth, str):
            user, password = auth
            changes["comfyui_auth"] = (str(user), str(password))
        return replace(base or cls(), **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SdJob:
    """One txt2img in flight, so /progress can report it and /interrupt can stop it."""

    steps: int
    n_iter: int
    delay: float
    kind: str = "txt2img"  # what /progress names in state.job ("scripts_txt2img", "scripts_img2img", ...)
    width: int = 512
    height: int = 512
    seed: int = 0
    label: str = ""
    started: float = field(default_factory=time.monotonic)
    interrupted: threading.Event = field(default_factory=threading.Event)

    def progress(self) -> float:
        if self.delay <= 0:
            return 0.0
        # Never 1.0 while running: the real WebUI only reaches the end as the response is sent.
        return min(0.99, (time.monotonic() - self.started) / self.delay)


class StandinState:
    def __init__(self, **config: Any) -> None:
        self._defaults = Config.build(**config)
        self.config = self._defaults
        self.script = Script()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._requests: list[dict[str, Any]] = []
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._jobs: list[SdJob] = []
        self._serial = itertools.count(1)
        self._hang_epoch = 0
        self.sd_options = sd_default_options()
        self.comfy = ComfyServer()

    # ------------------------------------------------------------ script and settings

    def set_script(self, rules: Any) -> list[dict[str, Any]]:
        self.script.set(parse_rules(rules) if not isinstance(rules, Rule) else [rules])
        return self.script.snapshot()

    def add_rules(self, rules: Any) -> list[dict[str, Any]]:
        for rule in parse_rules(rules):
            self.script.add(rule)
        return self.script.snapshot()

    def configure(self, **changes: Any) -> dict[str, Any]:
        self.config = Config.build(self.config, **changes)
        return self.config.to_dict()

    def reset(self) -> None:
        """Back to how the server started: no rules, start-up config, nothing recorded, hangs released."""
        self.script.set([])
        self.config = self._defaults
        self.sd_options = sd_default_options()
        with self._lock:
            self._requests.clear()
            self._files.clear()
        self.comfy.reset()
        self.release_hangs()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            jobs = [{"steps": j.steps, "delay": j.delay, "progress": j.progress()} for j in self._jobs]
            count = len(self._requests)
        return {
            "rules": self.script.snapshot(),
            "config": self.config.to_dict(),
            "jobs": jobs,
            "requests": count,
        }

    # ------------------------------------------------------------ recording

    def record(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> dict:
        entry = {
            "id": uuid.uuid4().hex[:12],
            "method": method,
            "path": path,
            "query": query,
            "headers": headers,
            "body": body,
            "time": time.time(),
            "status": None,  # filled in when the answer is sent (None: hung or disconnected)
        }
        with self._changed:
            self._requests.append(entry)
            self._changed.notify_all()
        return entry

    def annotate(self, entry: dict[str, Any], **fields: Any) -> None:
        """Add what a handler learned to a request's recording (usage, cost, decoded mask, ...)."""
        with self._changed:
            entry.update(fields)
            self._changed.notify_all()

    def recorded(self, key: str, path: str | None = None) -> list[dict[str, Any]]:
        """`{"path", "id", "status", key: ...}` for each recorded request that has `key` (e.g. "usage", "mask")."""
        with self._lock:
            found = [
                {
                    "path": r["path"],
                    "id": r["id"],
                    "status": r["status"],
                    key: r[key],
                    **({"cost_usd": r["cost_usd"]} if key == "usage" and "cost_usd" in r else {}),
                }
                for r in self._requests
                if key in r and _path_matches(r["path"], path)
            ]
            return copy.deepcopy(found)

    def finish(self, entry: dict[str, Any], status: int | None) -> None:
        with self._changed:
            entry["status"] = status
            entry["duration"] = time.time() - entry["time"]
            self._changed.notify_all()

    def requests(self, path: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        """Recorded requests, oldest first; `path` is exact, or a prefix when it ends in "*"."""
        with self._lock:
            found = [
                r for r in self._requests if _path_matches(r["path"], path) and method in (None, r["method"])
            ]
            return copy.deepcopy(found)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def wait_for(
        self, path: str | None = None, count: int = 1, timeout: float = 10.0, answered: bool = False
    ) -> list[dict[str, Any]]:
        """Block until `count` matching requests arrived (and, with `answered`, got their answer)."""
        deadline = time.monotonic() + timeout

        def matching() -> list[dict[str, Any]]:
            return [
                r
                for r in self._requests
                if _path_matches(r["path"], path) and (not answered or r["status"] is not None)
            ]

        with self._changed:
            while len(matching()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(matching())} of {count} requests to {path or 'any path'} arrived"
                    )
                self._changed.wait(left)
            return copy.deepcopy(matching())

    # ------------------------------------------------------------ generation helpers

    def bytes_target(self, effect: Effect) -> int | None:
        """How heavy to make images: the rule's setting (0 turns it off), else the configured default."""
        target = (
            effect.image_bytes_target
            if effect.image_bytes_target is not None
            else self.config.image_bytes_target
        )
        return target or None

    def next_serial(self) -> int:
        return next(self._serial)

    def put_file(self, data: bytes) -> str:
        file_id = f"img-{uuid.uuid4().hex[:16]}"
        with self._lock:
            self._files[file_id] = data
            while len(self._files) > MAX_FILES:
                self._files.popitem(last=False)
        return file_id

    def get_file(self, file_id: str) -> bytes | None:
        with self._lock:
            return self._files.get(file_id)

    # ------------------------------------------------------------ waiting: delays, hangs, SD jobs

    def hang_epoch(self) -> int:
        """Taken when a request arrives; a release ends the hangs of every request that arrived before it."""
        with self._lock:
            return self._hang_epoch

    def released(self, epoch: int) -> bool:
        with self._lock:
            return self._hang_epoch != epoch

    def release_hangs(self) -> None:
        with self._lock:
            self._hang_epoch += 1

    def start_job(self, steps: int, n_iter: int, delay: float, **details: Any) -> SdJob:
        job = SdJob(steps=steps, n_iter=n_iter, delay=delay, **details)
        with self._lock:
            self._jobs.append(job)
        return job

    def end_job(self, job: SdJob) -> None:
        with self._lock:
            if job in self._jobs:
                self._jobs.remove(job)

    def current_job(self) -> SdJob | None:
        # The WebUI runs one job at a time; with several in flight here, report the oldest, as it would.
        with self._lock:
            return self._jobs[0] if self._jobs else None

    def interrupt_jobs(self) -> int:
        with self._lock:
            for job in self._jobs:
                job.interrupted.set()
            return len(self._jobs)


def _path_matches(actual: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    return actual.startswith(wanted[:-1]) if wanted.endswith("*") else actual == wanted
