"""ComfyUI, self-hosted: a graph of nodes in "API format", queued with `POST /prompt` and followed until it ends.

Models are the checkpoints ComfyUI lists for the workflow's loader (`/object_info/CheckpointLoaderSimple` for the
built-in text-to-image workflow). Our options are written into the graph's node inputs; an admin may paste a
workflow of their own and say which input takes which option (comfyui_workflow.py: the graphs, the mapping and what
a server's nodes would refuse). It is checked against the server's nodes when saved (`check_workflow`), naming the
node.

Edits and upscales are graphs too (comfyui_edits.py): the image, and an edit's mask, are first put in ComfyUI's
input folder with `POST /upload/image` for LoadImage to read. An edit is the workflow with the image in place of its
empty latent; an upscale uses the upscale models listed for `UpscaleModelLoader`. Portraits never go along: a
graph of core nodes has no way to use reference images, so a checkpoint takes no input images and the dialog says so.

A prompt is followed (comfyui_follow.py) on the websocket `/ws?clientId=` (progress) while someone watches, and by polling
`/history/{prompt_id}`, which alone is enough: proxies often refuse websockets. `comfyui.timeout` bounds the
whole wait, queue included; a prompt given up on, or cancelled, is taken off the queue or interrupted, so the GPU
does not work for nobody. ComfyUI has no auth of its own: the key is for a proxy in front (`user:password` →
HTTP Basic, anything else → Bearer).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any

import requests
import websocket
from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from imagegen.catalog import AUTO, ModelOption, ModelSpec, parse_size
from imagegen.options import DEFAULT_CFG_SCALE, DEFAULT_STEPS, DEFAULT_STRENGTH, MAX_SEED
from media_library.images import sniff, upload_ready

from .base import (
    CancelCheck,
    CheckResult,
    Connection,
    GenerationRequest,
    GenerationResult,
    ProgressCallback,
    Provider,
    check_failed,
    collect_images,
    validate_request,
)
from .comfyui_edits import MAX_SIDE, edit_problem, image_entry, image_size, image_to_image, upscale_graph
from .comfyui_follow import Socket, Watch, image_refs, queued_ids, refusal
from .comfyui_workflow import (
    WORKFLOW_HELP,
    WORKFLOW_INPUTS_HELP,
    Workflow,
    WorkflowProblem,
    choices_of,
    describe_problems,
    input_spec,
    load_workflow,
    workflow_problems,
)
from .errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ProviderError,
    UnavailableError,
)
from .http import MAX_ERROR_BYTES, MAX_IMAGE_BYTES, error_text, read_capped
from .settings import Declared, declare
from .stable_diffusion import CHECKPOINT as SD_CHECKPOINT
from .stable_diffusion import checkpoint_families

logger = logging.getLogger(__name__)

MODELS_TTL = 60  # node lists change when someone drops a file in; a minute keeps validation honest and cheap
HISTORY_EVERY = 5.0  # with the websocket: /history is still asked this often, in case a message was missed
_QUICK = 5.0  # websocket handshake, /queue and /interrupt: a person is waiting on them

# Same latent space rules as a WebUI's checkpoints: sizes in multiples of 8, the same limits.
CHECKPOINT = SD_CHECKPOINT.replace(provider_id="comfyui")
# Every checkpoint ComfyUI lists is a model: its file name is the id, and without the extension its label.
FAMILIES = checkpoint_families(CHECKPOINT)


class CancelledError(ProviderError):
    """The prompt was interrupted or taken off ComfyUI's queue before it made its images."""

    error_class = "cancelled"
    default_permanent = True


def check_workflow(value: Any, connection: Connection) -> str:
    """`comfyui.workflow` on save: the pasted graph against the server's nodes ("" when it fits)."""
    return ComfyUIProvider(connection).workflow_problem(graph=value)


def check_workflow_inputs(value: Any, connection: Connection) -> str:
    """`comfyui.workflow_inputs` on save: the mapping against the workflow and the server's nodes."""
    provider = ComfyUIProvider(connection)
    if value not in (None, "") and provider._setting("workflow") in (None, "", {}):
        return "Workflow inputs describe a workflow of your own: set the ComfyUI workflow first."
    return provider.workflow_problem(inputs=value)


_UNSET: Any = object()


# --- The provider -------------------------------------------------------------------------------------------------


class ComfyUIProvider(Provider):
    provider_id = "comfyui"
    label = "ComfyUI"
    settings = declare(
        "comfyui",
        "ComfyUI",
        url_key="endpoint",
        credential="endpoint",
        url_help="ComfyUI's address, e.g. http://127.0.0.1:8188, or the proxy in front of it.",
        key_help="Optional, for a proxy in front: user:password (sent as HTTP Basic), or a token (sent as Bearer).",
        timeout=300,
        extra=(
            Declared("workflow", "json", "ComfyUI workflow", None, help=WORKFLOW_HELP, check=check_workflow),
            Declared(
                "workflow_inputs",
                "text",
                "ComfyUI workflow inputs",
                "",
                help=WORKFLOW_INPUTS_HELP,
                check=check_workflow_inputs,
            ),
        ),
    )
    families = FAMILIES
    poll_interval: float = 1.0
    # Edits: the workflow with the image in place of its empty latent, a mask where one is painted. Upscale: with
    # the upscale models ComfyUI lists (none listed: the dialog says an admin must install one).
    offers_edits = offers_masks = True
    offers_upscale = True

    @sensitive_variables()
    def auth(self) -> dict[str, Any]:
        """A proxy's credential, read as a WebUI's is: user:password → HTTP Basic, anything else → Bearer."""
        user, colon, password = self.connection.api_key.partition(":")
        return {"auth": (user, password)} if colon else super().auth()

    # --- the workflow from the settings ------------------------------------------------------------------------

    def _setting(self, key: str) -> Any:
        """An extra declared setting (workflow, workflow_inputs) as the connection carries it; None when unset."""
        extra = getattr(self.connection, "extra", None)
        return extra.get(key) if isinstance(extra, Mapping) else None

    def workflow(self, *, graph: Any = _UNSET, inputs: Any = _UNSET) -> Workflow:
        """The workflow in use; raises BadRequestError (for an admin) when the admin's cannot be used."""
        try:
            return load_workflow(
                self._setting("workflow") if graph is _UNSET else graph,
                self._setting("workflow_inputs") if inputs is _UNSET else inputs,
            )
        except WorkflowProblem as problem:
            raise BadRequestError(
                f"The ComfyUI workflow in the AI Image Generation settings cannot be used: {problem} "
                "An admin must fix it.",
                detail=str(problem),
                upstream_code="workflow_invalid",
            ) from None

    def workflow_problem(self, *, graph: Any = _UNSET, inputs: Any = _UNSET) -> str:
        """Why the workflow (with `graph` / `inputs` in place of the saved ones) does not fit the server, or ""."""
        try:
            workflow = load_workflow(
                self._setting("workflow") if graph is _UNSET else graph,
                self._setting("workflow_inputs") if inputs is _UNSET else inputs,
            )
        except WorkflowProblem as problem:
            return str(problem)
        try:
            definitions = {kind: self.node_info(kind, fresh=True) for kind in self._classes(workflow)}
        except ProviderError as err:
            return (
                f"ComfyUI could not be asked about its nodes, so the workflow is not checked: {err.message}"
            )
        return describe_problems(workflow_problems(workflow, definitions))

    @staticmethod
    def _classes(workflow: Workflow) -> list[str]:
        return sorted({node["class_type"] for node in workflow.graph.values()})

    # --- models -------------------------------------------------------------------------------------------------

    def node_info(self, class_type: str, *, fresh: bool = False) -> dict[str, Any] | None:
        """A node class as `/object_info/{class}` describes it (cached a minute), or None if the server lacks it."""
        key = self.cache_key(f"comfyui-node:{class_type}")
        cached = None if fresh else cache.get(key)
        if cached is not None:
            return cached or None
        answer = self.request("GET", f"/object_info/{class_type}", retry=False, timeout=self.quick_timeout)
        if not isinstance(answer.data, dict):
            raise BadResponseError(reason="the node description is not an object")
        definition = answer.data.get(class_type)
        definition = definition if isinstance(definition, dict) else {}
        cache.set(key, definition, MODELS_TTL)
        return definition or None

    def choices(self, workflow: Workflow, option: str, *, fresh: bool = False) -> tuple[str, ...]:
        """The server's list for the input `option` goes to (checkpoints, samplers …); () when it has none."""
        targets = workflow.inputs.get(option)
        if not targets:
            return ()
        node_id, name = targets[0]
        definition = self.node_info(workflow.class_of(node_id), fresh=fresh)
        return tuple(choices_of(input_spec(definition, name)) or ()) if definition else ()

    def checkpoints(self, *, fresh: bool = False) -> tuple[str, ...]:
        return self.choices(self.workflow(), "checkpoint", fresh=fresh)

    def cached_models(self) -> list[ModelOption] | None:
        try:
            workflow = self.workflow()
        except ProviderError:
            return None
        node_id, _ = workflow.inputs["checkpoint"][0]
        if cache.get(self.cache_key(f"comfyui-node:{workflow.class_of(node_id)}")) is None:
            return None
        return self.models()

    def _spec(self, checkpoint: str, workflow: Workflow, *, lists: bool = True) -> ModelSpec:
        """A checkpoint's rules, offering only the options the workflow takes; with `lists`, the server's
        samplers and schedulers to choose from."""
        spec = FAMILIES[0].spec_for(checkpoint)
        assert spec is not None  # the family takes any non-empty name
        takes = workflow.takes
        # Every checkpoint edits, within a mask or not, with a strength — where the workflow has a place for the
        # image (the built-in one has; an admin's may not: comfyui_edits.image_entry).
        edits = not edit_problem(workflow.graph)
        changes: dict[str, Any] = {
            "negative_prompt": takes("negative_prompt"),
            "seed": takes("seed"),
            "steps": takes("steps"),
            "cfg_scale": takes("cfg_scale"),
            "edits": edits,
            "masks": edits,
            "strength": edits,
        }
        if not (takes("width") and takes("height")):
            changes.update(sizes=(AUTO,), size_rule=None, default_size=AUTO)  # the workflow's own size
        if not takes("count"):
            changes.update(images_per_request=1, max_images_per_job=1)
        if lists:
            for option, attribute in (("sampler", "samplers"), ("scheduler", "schedulers")):
                try:
                    changes[attribute] = self.choices(workflow, option)
                except ProviderError:
                    changes[attribute] = ()  # the workflow's own still works; only the choice is missing
        return spec.replace(**changes)

    def models(self) -> list[ModelOption]:
        try:
            workflow = self.workflow()
            names = self.choices(workflow, "checkpoint")
        except ProviderError as err:
            logger.info("comfyui: no checkpoint list: %s", err.error_class)
            return []  # checkpoints exist only on the server; check() says why
        return [ModelOption.from_spec(self._spec(name, workflow), source="live") for name in names]

    def check(self) -> CheckResult:
        try:
            stats = self.request("GET", "/system_stats", retry=False, timeout=self.quick_timeout).data
            workflow = self.workflow()
            names = self.choices(workflow, "checkpoint", fresh=True)
        except ProviderError as err:
            if err.upstream_code in {"auth_required", "auth_rejected", "not_comfyui", "workflow_invalid"}:
                return CheckResult(False, err.upstream_code, err.message)
            return check_failed(err)
        if not names:
            return CheckResult(
                False,
                "no_checkpoints",
                "ComfyUI answers but lists no checkpoints. An admin must put a model in its models/checkpoints "
                "folder (or the folder the workflow's loader reads).",
            )
        if workflow.own and (problem := self.workflow_problem()):
            return CheckResult(
                False, "workflow_invalid", f"The ComfyUI workflow does not fit the server: {problem}"
            )
        system = stats.get("system") if isinstance(stats, dict) else None
        version = system.get("comfyui_version") if isinstance(system, dict) else None
        which = f"ComfyUI {version}" if version else "ComfyUI"
        own = " with the admin's workflow" if workflow.own else ""
        reason = f"{which} answers{own}; {len(names)} checkpoint(s) installed."
        if cannot_edit := edit_problem(workflow.graph):
            reason += f" Its models cannot edit images: {cannot_edit}."
        return CheckResult(True, "ok", reason)

    # --- generation ---------------------------------------------------------------------------------------------

    def generate(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        workflow = self.workflow()
        self._validate(request, workflow)
        values = self._values(request, workflow)
        return self._run(
            workflow.fill(values),
            expected=request.count,
            seed=values["seed"],
            recorded=self._recorded(request, workflow, values),
            on_progress=on_progress,
            should_cancel=should_cancel,
        )

    def edit(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        """The workflow with the image in place of its empty latent (comfyui_edits.py): the source and the mask
        uploaded through /upload/image, the change strength as the KSampler's denoise."""
        workflow = self.workflow()
        try:
            entry = image_entry(workflow.graph)
        except WorkflowProblem as problem:
            raise BadRequestError(
                f"ComfyUI cannot edit with the workflow in the AI Image Generation settings: {problem}. Choose "
                "another provider, or ask an admin.",
                detail=str(problem),
                upstream_code="workflow_cannot_edit",
            ) from None
        # Portraits are refused here (the model takes no input images): core nodes have no way to use them.
        self._validate(request, workflow)
        values = self._values(request, workflow)
        source = upload_ready(request.source_image)
        image = self._upload(source)
        mask = self._upload(request.mask) if request.mask else None  # stored transparent = repaint, sent so
        strength = request.option("strength", DEFAULT_STRENGTH)
        graph = image_to_image(
            workflow.fill(values),
            entry,
            image=image,
            mask=mask,
            size=parse_size(request.size),
            source_size=image_size(source),
            count=request.count,
            strength=strength,
        )
        return self._run(
            graph,
            expected=request.count,
            seed=values["seed"],
            recorded=self._recorded(request, workflow, values),
            on_progress=on_progress,
            should_cancel=should_cancel,
        )

    def _validate(self, request: GenerationRequest, workflow: Workflow) -> None:
        """Refuse what the model cannot do before anything is sent. Sampler and scheduler are checked against the
        server's own lists (fetched only when one is chosen)."""
        spec = self._spec(
            request.model, workflow, lists=bool(request.option("sampler") or request.option("scheduler"))
        )
        validate_request(spec, request)

    @staticmethod
    def _values(request: GenerationRequest, workflow: Workflow) -> dict[str, Any]:
        """Each option's value for the workflow's inputs; a seed drawn when none is chosen."""
        width, height = parse_size(request.size) or (None, None)
        seed = request.option("seed")
        if seed is None and workflow.takes("seed"):
            seed = secrets.randbelow(MAX_SEED + 1)  # recorded on each image, so it can be repeated
        return {
            "checkpoint": request.model,
            "prompt": request.prompt,
            "negative_prompt": request.option("negative_prompt"),
            "width": width,
            "height": height,
            "count": request.count,
            "seed": seed,
            "steps": request.option("steps", DEFAULT_STEPS),
            "cfg_scale": request.option("cfg_scale", DEFAULT_CFG_SCALE),
            "sampler": request.option("sampler"),
            "scheduler": request.option("scheduler"),
        }

    @staticmethod
    def _recorded(request: GenerationRequest, workflow: Workflow, values: dict[str, Any]) -> dict[str, Any]:
        """What each image records of how it was made (the sampling settings the workflow took)."""
        return {
            "checkpoint": request.model,
            **{k: values[k] for k in ("steps", "cfg_scale", "sampler", "scheduler") if workflow.takes(k)},
        }

    # --- upscaling ----------------------------------------------------------------------------------------------

    def upscalers(self) -> list[str]:
        """The upscale models ComfyUI lists for UpscaleModelLoader; [] when it lacks the node or has none."""
        definition = self.node_info("UpscaleModelLoader")
        return list(choices_of(input_spec(definition, "model_name")) or []) if definition else []

    def upscale(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        """The upscale model's own factor, then scaled to exactly the factor asked for (comfyui_edits.py). The
        factor, the size and the model are checked before anything is sent: ComfyUI would refuse the graph."""
        factor = self.upscale_factor(request)
        if not request.source_image:
            raise BadRequestError("There is no image to upscale.")
        source = upload_ready(request.source_image)
        width, height = (side * factor for side in image_size(source))
        if max(width, height) > MAX_SIDE:
            raise BadRequestError(
                f"{factor}× would make {width} × {height} pixels, and ComfyUI makes images at most {MAX_SIDE} "
                "pixels a side. Choose a smaller factor."
            )
        if request.model not in self.upscalers():
            raise BadRequestError(
                f"ComfyUI has no upscale model named “{request.model}”. Choose one it lists, or ask an admin."
            )
        graph = upscale_graph(image=self._upload(source), model=request.model, width=width, height=height)
        return self._run(
            graph,
            expected=1,
            seed=None,
            recorded={"upscaler": request.model, "factor": factor},
            on_progress=on_progress,
            should_cancel=should_cancel,
        )

    # --- submitting a graph -------------------------------------------------------------------------------------

    def _upload(self, data: bytes) -> str:
        """An image put in ComfyUI's input folder for LoadImage; returns the name LoadImage takes.

        Named after its contents, with overwrite, so sending it again (a retry, the same image edited twice)
        stores the same file rather than piling up copies; nothing is generated, so a retry costs nothing.
        """
        kind = sniff(data)
        name = f"inkweld-{hashlib.sha256(data).hexdigest()[:32]}.{kind.extension}"
        answer = self.request(
            "POST",
            "/upload/image",
            files={"image": (name, data, kind.content_type)},
            data={"type": "input", "overwrite": "true"},
        )
        stored = answer.data.get("name") if isinstance(answer.data, dict) else None
        if not isinstance(stored, str) or not stored:
            raise BadResponseError(reason="ComfyUI took the upload without saying its name")
        subfolder = answer.data.get("subfolder")
        return f"{subfolder}/{stored}" if isinstance(subfolder, str) and subfolder else stored

    def _run(
        self,
        graph: dict[str, Any],
        *,
        expected: int,
        seed: int | None,
        recorded: dict[str, Any],
        on_progress: ProgressCallback | None,
        should_cancel: CancelCheck | None,
    ) -> GenerationResult:
        """Queue `graph`, follow it to its end, and fetch the images it saved."""
        client_id = uuid.uuid4().hex
        # The websocket only brings progress: opened when someone watches, and never needed.
        socket = self._open_socket(client_id) if on_progress is not None else None
        try:
            # Not repeated once sent: ComfyUI would run it twice.
            answer = self.request(
                "POST", "/prompt", json={"prompt": graph, "client_id": client_id}, billed=True
            )
            prompt_id = answer.data.get("prompt_id") if isinstance(answer.data, dict) else None
            if not isinstance(prompt_id, str) or not prompt_id:
                raise BadResponseError(reason="ComfyUI queued the prompt without saying its id")
            watch = Watch(prompt_id, samplers=[n for n, node in graph.items() if "steps" in node["inputs"]])
            entry = self._follow(watch, socket, on_progress, should_cancel)
        finally:
            if socket is not None:
                socket.close()
        if watch.cancel_requested:
            # Cancelled as the writer asked (whatever ComfyUI got done meanwhile): no image is wanted now, and the
            # job records the cancel itself (services sees cancel_requested). Returned, so that it does.
            return GenerationResult(errors=[self._cancelled(prompt_id, asked=True)], request_ids=[prompt_id])
        assert entry is not None  # only a cancelled prompt leaves the queue without a history entry
        self._raise_for_failure(entry, prompt_id)  # interrupted by someone on the server: this job failed
        refs = image_refs(entry.get("outputs"))
        images, errors = collect_images(
            enumerate(refs),
            lambda pair: self.image_from_bytes(
                self._view(pair[1]),
                seed=seed,
                extra={**recorded, "prompt_id": prompt_id, "batch_index": pair[0]},
            ),
            expected=expected,
            request_id=prompt_id,
        )
        return GenerationResult(images=images, errors=errors, cost=None, request_ids=[prompt_id], usage={})

    # --- following a prompt -------------------------------------------------------------------------------------

    def _follow(
        self,
        watch: Watch,
        socket: Socket | None,
        on_progress: ProgressCallback | None,
        should_cancel: CancelCheck | None,
    ) -> dict[str, Any] | None:
        """Wait for the prompt's history entry; None when it left the queue unrun (cancelled while pending)."""
        deadline = time.monotonic() + self.timeout
        ask_history, next_history = True, 0.0
        while True:
            if ask_history:
                entry = self._history(watch.prompt_id)
                if entry is not None:
                    return entry
                next_history = time.monotonic() + HISTORY_EVERY
            if should_cancel is not None and (watch.cancel_requested or should_cancel()):
                watch.cancel_requested = True
                if self._stop(watch) == "gone":
                    return self._history(watch.prompt_id)  # it may have ended just before; else it never ran
            if time.monotonic() > deadline:
                self._stop(watch)
                raise UnavailableError(
                    f"ComfyUI did not finish within {round(self.timeout)} seconds (its queue may be long), so the "
                    "request was withdrawn. Try again later, or ask an admin to raise the ComfyUI timeout.",
                    permanent=True,
                    request_id=watch.prompt_id,
                    upstream_code="timeout",
                )
            if socket is not None and socket.alive:
                ended = socket.listen(self.poll_interval, watch, on_progress)
                ask_history = ended or time.monotonic() >= next_history
            else:
                self.sleep(self.poll_interval)
                ask_history = True

    def _history(self, prompt_id: str) -> dict[str, Any] | None:
        answer = self.request("GET", f"/history/{prompt_id}", timeout=self.quick_timeout)
        entry = answer.data.get(prompt_id) if isinstance(answer.data, dict) else None
        return entry if isinstance(entry, dict) else None

    def _stop(self, watch: Watch) -> str:
        """Take the prompt off the queue, or interrupt it if it runs: "pending", "running" or "gone"."""
        try:
            queue = self.request("GET", "/queue", retry=False, timeout=_QUICK).data
        except ProviderError as err:
            logger.warning("comfyui: cannot read the queue to cancel: %s", err.error_class)
            return "running"
        running, pending = (queued_ids(queue, key) for key in ("queue_running", "queue_pending"))
        try:
            if watch.prompt_id in pending:
                self.request(
                    "POST", "/queue", json={"delete": [watch.prompt_id]}, retry=False, timeout=_QUICK
                )
                return "pending"
            if watch.prompt_id in running:
                if not watch.interrupt_sent:
                    # With its id, a newer ComfyUI stops only this prompt; an older one stops whatever runs,
                    # which the queue just said is ours.
                    self.request(
                        "POST", "/interrupt", json={"prompt_id": watch.prompt_id}, retry=False, timeout=_QUICK
                    )
                    watch.interrupt_sent = True
                return "running"
        except ProviderError as err:
            logger.warning("comfyui: cancelling failed: %s", err.error_class)
            return "running"
        return "gone"

    # --- reading the outcome ------------------------------------------------------------------------------------

    def _cancelled(self, prompt_id: str, *, asked: bool) -> CancelledError:
        if asked:
            message = "The generation was cancelled; ComfyUI stopped it."
        else:
            message = (
                "Someone stopped this generation on the ComfyUI server. Use Try again if you still want it."
            )
        return CancelledError(message, request_id=prompt_id, upstream_code="interrupted")

    def _raise_for_failure(self, entry: dict[str, Any], prompt_id: str) -> None:
        """An execution error or an interruption in the history entry, as our error classes."""
        status = found if isinstance(found := entry.get("status"), dict) else {}
        for message in status.get("messages") or []:
            if not (isinstance(message, list) and len(message) == 2 and isinstance(message[1], dict)):
                continue
            event, data = message
            if event == "execution_interrupted":
                raise self._cancelled(prompt_id, asked=False)
            if event == "execution_error":
                raise self._execution_error(data, prompt_id)
        if status.get("status_str") == "error":
            raise UnavailableError(
                "ComfyUI could not run the workflow and did not say why. Try again; if it keeps failing, tell an admin.",
                request_id=prompt_id,
                permanent=True,
            )

    def _execution_error(self, data: dict[str, Any], prompt_id: str) -> ProviderError:
        where = f"node {data.get('node_id')} ({data.get('node_type')})"
        kind = str(data.get("exception_type") or "error")
        text = str(data.get("exception_message") or "").strip()
        first = text.splitlines()[0][:300] if text else kind
        out_of_memory = "OutOfMemory" in kind or "out of memory" in text.lower()
        if out_of_memory:
            message = (
                f"ComfyUI ran out of GPU memory at {where}: {first}. Try a smaller size or fewer images."
            )
        else:
            message = f"ComfyUI failed at {where}: {first}. Try again; if it keeps failing, tell an admin."
        return UnavailableError(
            message,
            detail=f"{kind}: {text[:500]}",
            permanent=True,  # the same graph fails the same way; and it is never run twice unasked
            request_id=prompt_id,
            upstream_code="out_of_memory" if out_of_memory else "execution_error",
        )

    @sensitive_variables()
    def _view(self, ref: dict[str, str]) -> bytes:
        """One output image's bytes from `/view`; a failure is this image's (BadResponseError), not the job's."""
        auth = self.auth()
        params = {
            "filename": ref.get("filename", ""),
            "subfolder": ref.get("subfolder", ""),
            "type": ref.get("type", "output"),
        }
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.get(
                    self.url("/view"), params=params, stream=True, timeout=self.quick_timeout,
                    headers=auth.get("headers", {}), auth=auth.get("auth"),
                )  # fmt: skip
                if response.status_code == 200:
                    return bytes(read_capped(response, MAX_IMAGE_BYTES))
                body, text = error_text(read_capped(response, MAX_ERROR_BYTES, truncate=True))
                err = self.classify_error(response.status_code, body, text, response.headers)
            except requests.RequestException as exc:
                err = UnavailableError(detail=type(exc).__name__)
            except UnavailableError as exc:
                err = exc
            wait = None if err.permanent else self.retry_policy.delay(attempt, err.retry_after)
            if wait is None:
                raise BadResponseError(
                    reason=f"image {params['filename']} could not be fetched ({err.detail or err.error_class})"
                ).scrubbed(self.secrets)
            self.sleep(wait)

    # --- the websocket ------------------------------------------------------------------------------------------

    @sensitive_variables()
    def _open_socket(self, client_id: str) -> Socket | None:
        url = re.sub(r"^http", "ws", self.connection.base_url) + f"/ws?clientId={client_id}"
        headers = [f"User-Agent: {self.user_agent}"]
        auth = self.auth()
        if "auth" in auth:
            token = base64.b64encode(":".join(auth["auth"]).encode()).decode()
            headers.append(f"Authorization: Basic {token}")
        for name, value in auth.get("headers", {}).items():
            headers.append(f"{name}: {value}")
        try:
            ws = websocket.create_connection(
                url, timeout=min(_QUICK, self.quick_timeout), header=headers, suppress_origin=True
            )
        except (websocket.WebSocketException, OSError) as exc:
            # A proxy refusing websockets is common: polling /history does the job without progress.
            logger.info("comfyui: no websocket (%s); following by polling", type(exc).__name__)
            return None
        return Socket(ws)

    # --- errors -------------------------------------------------------------------------------------------------

    def classify_error(self, status: int, body: Any, text: str, headers: Mapping[str, str]) -> ProviderError:
        if status == 400 and isinstance(body, dict) and "node_errors" in body:
            reason = refusal(body)
            return BadRequestError(
                f"ComfyUI refused the workflow: {reason}. Change the options and try again; if it keeps "
                "happening, tell an admin.",
                detail=reason[:500],
                upstream_code="node_errors",
            )
        if status == 401:
            if self.connection.api_key:
                return AuthenticationError(
                    "The proxy in front of ComfyUI rejected the credentials. An admin must fix the ComfyUI key "
                    "(user:password or a token) in the AI Image Generation settings.",
                    detail=text[:200],
                    upstream_code="auth_rejected",
                )
            return AuthenticationError(
                "ComfyUI sits behind a proxy that asks for credentials. An admin must set the ComfyUI key "
                "(user:password or a token) in the AI Image Generation settings.",
                detail=text[:200],
                upstream_code="auth_required",
            )
        if status == 404:
            return UnavailableError(
                "The ComfyUI endpoint answers, but not as ComfyUI. An admin must check the endpoint URL.",
                permanent=True,
                upstream_code="not_comfyui",
            )
        err = super().classify_error(status, body, text, headers)
        if status >= 500 and not isinstance(err, AuthenticationError):
            err.message = (
                f"ComfyUI (or the proxy in front) failed with HTTP {status}. Try again in a few minutes."
            )
        return err


__all__ = ["CancelledError", "ComfyUIProvider", "check_workflow", "check_workflow_inputs"]
