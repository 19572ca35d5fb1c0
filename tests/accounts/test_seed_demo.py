from io import StringIO

from django.contrib.auth.models import User
from django.core.management import call_command


def run_seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_is_idempotent(db, monkeypatch):
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("DEMO_WRITER_PASSWORD", "writer-pass-123")
    first = run_seed()
    admin = User.objects.get(username="admin")
    writer = User.objects.get(username="writer")
    assert admin.is_superuser and admin.is_staff
    assert not writer.is_staff
    assert writer.check_password("writer-pass-123")
    # The generated admin password is printed once and works.
    line = next(line for line in first.splitlines() if "'admin'" in line)
    generated = line.rsplit(": ", 1)[1]
    assert admin.check_password(generated)
    assert "writer-pass-123" not in first  # a password from the environment is not echoed

    second = run_seed()
    assert "already exists" in second
    assert generated not in second
    assert User.objects.count() == 2
    admin.refresh_from_db()
    assert admin.check_password(generated)


def test_the_demo_chapter_names_its_elements_so_illustrate_finds_them(db, monkeypatch):
    from projects.embeds import paragraphs
    from projects.mentions import mentioned
    from projects.models import Document, Element

    monkeypatch.setenv("DEMO_WRITER_PASSWORD", "writer-pass-123")
    run_seed()
    chapter = Document.objects.get(project__slug="demo", order=1)
    elements = list(Element.objects.filter(project=chapter.project))
    first, second = paragraphs(chapter.body)[:2]
    assert [e.name for e in mentioned(first.text, elements)] == ["Mira Vale"]  # by its other name, "Mira"
    assert [e.name for e in mentioned(second.text, elements)] == ["The Brass Compass"]
    assert chapter.project.house_style.name == "Ink wash"
