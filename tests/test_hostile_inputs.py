"""Hostile inputs across forms, uploads and endpoints (issue 11): none of them may make the server answer 500.

Each probe is what an attacker (or a very unlucky writer) sends: numbers too large for a database integer, digits
from other scripts, NUL bytes, megabytes of text, markup, path tricks, files that are not what they claim, values
outside every choice, methods a view does not take. The server must answer each with a page or a refusal — never
a server error. The counts are printed (pytest -s) for the record.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from imagegen.models import Candidate, GenerationJob
from projects.models import Document, Element
from tests.fixtures_projects import image_bytes
from tests.imagegen.conftest import upstream  # noqa: F401 — the stand-in, so the dialog validates for real

SD_MODEL = "v1-5-pruned-emaonly.safetensors [6ce0161689]"
HUGE_INT = "9" * 20  # past a 64-bit integer
ENORMOUS_INT = "9" * 5000  # past Python's int() digit limit
WEIRD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '"; DROP TABLE projects_project; --',
    "\u202eevil\u202c",  # right-to-left override
    "😀" * 50,
    "²³",
    "٣",
    "../../etc/passwd",
    "%00%2e%2e%2f",
    "{{ 7*7 }}",
    "x" * 100_000,
    HUGE_INT,
    "-1",
    "1e999",
    "NaN",
    "\r\n\r\n",
]


@dataclass
class Probe:
    name: str
    method: str  # get, post, put, patch, delete, head, options
    url: Callable[[dict[str, Any]], str]
    data: Callable[[dict[str, Any]], Any] = field(default=lambda ctx: {})
    who: str = "owner"  # owner, admin, anonymous
    extra: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None


def url(name: str, **kwargs: Any) -> Callable[[dict[str, Any]], str]:
    def build(ctx: dict[str, Any]) -> str:
        resolved = {k: (v(ctx) if callable(v) else v) for k, v in kwargs.items()}
        if "slug" not in resolved and not name.startswith(("login", "signup", "admin", "password")):
            resolved["slug"] = ctx["project"].slug
        return reverse(name, kwargs=resolved)

    return build


def raw(path: str) -> Callable[[dict[str, Any]], str]:
    return lambda ctx: path.replace("{slug}", ctx["project"].slug)


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge image (a decompression bomb), with a token of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def gif_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, format="GIF")
    return out.getvalue()


UPLOADS: list[tuple[str, bytes, str]] = [
    ("notes.txt", b"just text", "text/plain"),
    ("empty.png", b"", "image/png"),
    ("truncated.png", image_bytes()[:40], "image/png"),
    ("bomb.png", png_header_claiming(100_000, 100_000), "image/png"),
    ("wide.png", png_header_claiming(2**31 - 1, 1), "image/png"),
    (
        "script.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "image/svg+xml",
    ),
    ("page.png", b"<html><script>alert(1)</script></html>", "image/png"),
    ("../../../etc/passwd.png", image_bytes(color=(1, 1, 1)), "image/png"),
    ("a" * 3000 + ".png", image_bytes(color=(2, 2, 2)), "image/png"),
    ("nul\x00.png", image_bytes(color=(3, 3, 3)), "image/png"),
    ("real.jpg", image_bytes("JPEG", color=(4, 4, 4)), "image/png"),  # a JPEG claiming to be PNG
    ("anim.gif", gif_bytes(), "image/gif"),
    ("zip.png", b"PK\x03\x04" + b"\0" * 100, "image/png"),
    ("polyglot.png", image_bytes(color=(5, 5, 5)) + b"<script>alert(1)</script>", "image/png"),
    ("tiny.bmp", b"BM" + b"\0" * 60, "image/bmp"),
]


def probes() -> list[Probe]:
    item = {"pk": lambda ctx: ctx["item"].pk}
    job = {"pk": lambda ctx: ctx["job"].pk}
    generate = {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "A harbour", "size": "512x512",
                "count": "1", "steps": "20", "seed": "", "negative_prompt": "", "action": "preview"}  # fmt: skip
    found: list[Probe] = []
    add = found.append

    # --- Ids in paths and query strings -------------------------------------------------------------------------
    for pk in ["0", HUGE_INT, ENORMOUS_INT[:400], "00000000000000000000001"]:
        for name in ["projects:document", "projects:element", "media:detail", "media:file", "media:delete",
                     "imagegen:job", "imagegen:candidate", "imagegen:variations", "imagegen:again"]:  # fmt: skip
            add(Probe(f"{name} pk={pk[:24]}", "get", url(name, pk=pk)))
        add(Probe(f"member_remove pk={pk[:24]}", "post", url("projects:member_remove", pk=pk)))
    for slug in ["a" * 3000, "-", "_", "no-such-project"]:
        add(Probe(f"slug {slug[:20]}", "get", lambda ctx, s=slug: f"/projects/{s}/"))
    for query in ["page=abc", "page=-1", f"page={HUGE_INT}", f"page={ENORMOUS_INT}", "q=%00", "q=' OR 1=1 --",
                  "q=" + "x" * 10_000, "origin=bogus", "origin=", "page=1&page=2", "q=<script>"]:  # fmt: skip
        add(Probe(f"media index ?{query[:30]}", "get", raw("/projects/{slug}/media/?" + query)))
    for query in ["provider=bogus", "model=../../etc", "count=abc", f"seed={ENORMOUS_INT}", "element_abc=subject",
                  f"element_{HUGE_INT}=reference", "size=" + "9" * 300]:  # fmt: skip
        add(Probe(f"dialog ?{query[:30]}", "get", raw("/projects/{slug}/generate/?" + query)))

    # --- Forms: every text field gets the weird strings --------------------------------------------------------
    for text in WEIRD_TEXT:
        add(Probe(f"project edit title {text[:12]!r}", "post", url("projects:edit"),
                  lambda ctx, t=text: {"title": t, "description": t}))  # fmt: skip
        add(Probe(f"document create {text[:12]!r}", "post", url("projects:document_create"),
                  lambda ctx, t=text: {"title": t, "body": t, "order": t}))  # fmt: skip
        add(Probe(f"element create {text[:12]!r}", "post", url("projects:element_create"),
                  lambda ctx, t=text: {"kind": t, "name": t, "description": t, "attributes": t}))  # fmt: skip
        add(Probe(f"media edit {text[:12]!r}", "post", url("media:edit", **item),
                  lambda ctx, t=text: {"title": t, "alt_text": t}))  # fmt: skip
        add(Probe(f"insert document={text[:12]!r}", "post", url("media:insert", **item),
                  lambda ctx, t=text: {"document": t}))  # fmt: skip
        add(Probe(f"set element image element={text[:12]!r}", "post", url("media:set_element_image", **item),
                  lambda ctx, t=text: {"element": t}))  # fmt: skip
        add(Probe(f"member add {text[:12]!r}", "post", url("projects:member_add"),
                  lambda ctx, t=text: {"username": t, "role": t}))  # fmt: skip
        add(Probe(f"save candidate={text[:12]!r}", "post", url("imagegen:save", **job),
                  lambda ctx, t=text: {"candidate": [t, t]}))  # fmt: skip
        for fieldname in ["prompt", "size", "count", "seed", "steps", "provider", "model", "negative_prompt"]:
            add(Probe(f"dialog {fieldname}={text[:12]!r}", "post", url("imagegen:dialog"),
                      lambda ctx, f=fieldname, t=text: {**generate, f: t}))  # fmt: skip
        add(Probe(f"dialog element role {text[:12]!r}", "post", url("imagegen:dialog"),
                  lambda ctx, t=text: {**generate, f"element_{ctx['element'].pk}": t}))  # fmt: skip
        add(Probe(f"login {text[:12]!r}", "post", url("login"), lambda ctx, t=text: {"username": t, "password": t},
                  who="anonymous"))  # fmt: skip
        add(Probe(f"signup {text[:12]!r}", "post", url("signup"),
                  lambda ctx, t=text: {"username": t, "password1": t, "password2": t, "email": t},
                  who="anonymous"))  # fmt: skip
        add(Probe(f"password change {text[:12]!r}", "post", url("password_change"),
                  lambda ctx, t=text: {"old_password": t, "new_password1": t, "new_password2": t}))  # fmt: skip
    for role in ["owner", "admin", "viewer ", "EDITOR", ""]:
        add(Probe(f"member add role={role!r}", "post", url("projects:member_add"),
                  lambda ctx, r=role: {"username": "outsider", "role": r}))  # fmt: skip
    # A family with free sizes (gpt-image-2): the custom size and the size itself, typed and from a link.
    gpt2 = {"provider": "openai", "model": "gpt-image-2", "prompt": "A cover", "size": "custom", "quality": "low",
            "count": "1", "action": "preview"}  # fmt: skip
    for size in ["1x²", "٣x٣", "9" * 5000 + "x1", "0x0", "-512x512", "512x512x512", "512X512", " 512x512",
                 "²x²", "1600 × 2560", "1600X2560", "16000x16000", "x", "", "1e3x1e3"]:  # fmt: skip
        add(Probe(f"dialog size={size[:16]!r}", "post", url("imagegen:dialog"),
                  lambda ctx, z=size: {**generate, "size": z}))  # fmt: skip
        add(Probe(f"gpt-image-2 custom_size={size[:16]!r}", "post", url("imagegen:dialog"),
                  lambda ctx, z=size: {**gpt2, "custom_size": z}))  # fmt: skip
        add(Probe(f"gpt-image-2 size={size[:16]!r} from a link", "get",
                  raw("/projects/{slug}/generate/?provider=openai&model=gpt-image-2&size=" + quote(size))))  # fmt: skip
    add(Probe("dialog element id too large", "post", url("imagegen:dialog"),
              lambda ctx: {**generate, f"element_{HUGE_INT}": "subject"}))  # fmt: skip
    add(Probe("dialog element of another project", "post", url("imagegen:dialog"),
              lambda ctx: {**generate, f"element_{ctx['foreign_element'].pk}": "subject"}))  # fmt: skip
    add(Probe("insert another project's document", "post", url("media:insert", **item),
              lambda ctx: {"document": ctx["foreign_document"].pk}))  # fmt: skip
    add(Probe("save a thousand candidate ids", "post", url("imagegen:save", **job),
              lambda ctx: {"candidate": [str(i) for i in range(1000)]}))  # fmt: skip
    add(Probe("dialog with every field repeated", "post", url("imagegen:dialog"),
              lambda ctx: {k: [v, v + "x"] for k, v in generate.items()}))  # fmt: skip

    # --- Admin -------------------------------------------------------------------------------------------------
    settings_url = lambda ctx: reverse("admin:imagegen_imagegenerationsettings_change", args=[1])  # noqa: E731
    for value in ["javascript:alert(1)", "http://", "file:///etc/passwd", "http://[::1", "http://a b", HUGE_INT,
                  "http://host:99999", "http://host:port", "http://[fe80::1%25eth0]:7860",
                  "-1", "1e9", "NaN", "x" * 600]:  # fmt: skip
        add(Probe(f"admin settings {value[:16]!r}", "post", settings_url, who="admin",
                  data=lambda ctx, v=value: {"openai_base_url": v, "sd_endpoint": v, "openai_timeout": v,
                                             "daily_limit": v, "monthly_budget": v, "enabled": v,
                                             "default_provider": v, "openai_api_key_new": v}))  # fmt: skip
    for query in ["month=bogus", "month=9999-99", f"month={HUGE_INT}", "month=2026-13"]:
        add(Probe(f"admin usage ?{query}", "get", lambda ctx, q=query: reverse("admin:imagegen_generationjob_usage") + "?" + q,
                  who="admin"))  # fmt: skip
    for query in [
        "q=%00",
        "q=" + "x" * 5000,
        "status__exact=bogus",
        "o=999",
        "p=-1",
        f"created_at__gte={HUGE_INT}",
    ]:
        add(Probe(f"admin jobs ?{query[:20]}", "get",
                  lambda ctx, q=query: reverse("admin:imagegen_generationjob_changelist") + "?" + q, who="admin"))  # fmt: skip
    add(
        Probe(
            "admin job pk huge",
            "get",
            lambda ctx: f"/admin/imagegen/generationjob/{HUGE_INT}/change/",
            who="admin",
        )
    )

    # --- Uploads -----------------------------------------------------------------------------------------------
    for name, data, content_type in UPLOADS:
        add(Probe(f"upload {name[:24]!r}", "post", url("media:upload"),
                  lambda ctx, n=name, d=data, c=content_type: {"files": SimpleUploadedFile(n, d, c)}))  # fmt: skip
    add(Probe("upload thirty files at once", "post", url("media:upload"),
              lambda ctx: {"files": [SimpleUploadedFile(f"{i}.png", image_bytes(color=(i, 9, 9)), "image/png")
                                     for i in range(30)]}))  # fmt: skip
    add(Probe("upload with no file", "post", url("media:upload"), lambda ctx: {}))
    add(
        Probe(
            "upload a text field named files",
            "post",
            url("media:upload"),
            lambda ctx: {"files": "not a file"},
        )
    )

    # --- Endpoints: methods, bodies and headers they do not expect ----------------------------------------------
    for method in ["put", "patch", "delete", "options", "head"]:
        for name, kwargs in [("projects:detail", {}), ("media:detail", item), ("imagegen:dialog", {}),
                             ("imagegen:cancel", job), ("media:set_cover", item)]:  # fmt: skip
            add(Probe(f"{method.upper()} {name}", method, url(name, **kwargs)))
    add(Probe("dialog with a JSON body", "post", url("imagegen:dialog"), lambda ctx: '{"action": "generate"}',
              content_type="application/json"))  # fmt: skip
    add(Probe("dialog with a garbled multipart body", "post", url("imagegen:dialog"), lambda ctx: "--xx\r\ngarbage",
              content_type="multipart/form-data; boundary=xx"))  # fmt: skip
    for target in ["generate-dialog-body", "x" * 5000, "<script>", ""]:
        add(Probe(f"dialog HX-Target {target[:12]!r}", "get", url("imagegen:dialog"),
                  extra={"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target}))  # fmt: skip
    add(
        Probe(
            "job poll with HX headers", "get", url("imagegen:job", **job), extra={"HTTP_HX_REQUEST": "true"}
        )
    )
    add(Probe("healthz with a bad host", "get", lambda ctx: "/healthz", extra={"HTTP_HOST": "evil.example"}))
    add(Probe("page with a bad host", "get", url("projects:detail"), extra={"HTTP_HOST": "evil.example"}))
    add(
        Probe(
            "login next= elsewhere",
            "get",
            lambda ctx: "/accounts/login/?next=https://evil.example/",
            who="anonymous",
        )
    )
    return found


@pytest.fixture
def ctx(project, media_item, owner, make_user) -> dict[str, Any]:
    from projects.models import Project

    other = Project.objects.create(owner=make_user("zed"), title="Other", slug="other")
    job = GenerationJob.objects.create(
        user=owner, project=project, provider="stable-diffusion", model=SD_MODEL, prompt="p", composed_prompt="p",
        status="succeeded", images_made=1,
    )  # fmt: skip
    candidate = Candidate(job=job, index=0, content_type="image/png", width=64, height=48, bytes=10)
    candidate.file.save("1.png", ContentFile(image_bytes(color=(8, 8, 8))), save=False)
    candidate.save()
    return {
        "project": project,
        "item": media_item,
        "job": job,
        "document": Document.objects.create(project=project, title="Chapter 1", body="Once."),
        "element": Element.objects.create(project=project, name="Mira"),
        "foreign_document": Document.objects.create(project=other, title="Secret"),
        "foreign_element": Element.objects.create(project=other, name="Secret"),
    }


def test_hostile_inputs_never_make_a_server_error(upstream, ctx, owner, admin_user_, settings):  # noqa: F811
    settings.ALLOW_SIGNUP = True
    settings.AXES_ENABLED = False  # hundreds of bad sign-ins from one address would lock out the probe itself
    clients = {"owner": Client(raise_request_exception=False), "admin": Client(raise_request_exception=False),
               "anonymous": Client(raise_request_exception=False)}  # fmt: skip
    clients["owner"].force_login(owner)
    clients["admin"].force_login(admin_user_)
    all_probes = probes()
    statuses: Counter[int] = Counter()
    errors = []
    for probe in all_probes:
        client = clients[probe.who]
        kwargs: dict[str, Any] = dict(probe.extra)
        if probe.content_type:
            kwargs["content_type"] = probe.content_type
        target = probe.url(ctx)
        if probe.method in {"post", "put", "patch"} or probe.content_type:
            response = getattr(client, probe.method)(target, probe.data(ctx), **kwargs)
        else:
            response = getattr(client, probe.method)(target, **kwargs)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            errors.append(f"{probe.name}: {response.status_code}")
    print(f"\nhostile inputs: {len(all_probes)} probes; answers by status: {dict(sorted(statuses.items()))}; "
          f"server errors: {len(errors)}")  # fmt: skip
    assert len(all_probes) >= 150
    assert errors == []


@pytest.mark.parametrize(
    "value", ["http://[::1", "http://host:99999", "http://host:port", "http://a b", "\x00"]
)
def test_the_command_line_refuses_malformed_addresses_with_a_message(db, value):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as caught:
        call_command("imagegen", "set", "sd.endpoint", value, stdout=io.StringIO(), stderr=io.StringIO())
    assert caught.value.returncode == 2 and "is not an http(s) URL" in str(caught.value)
