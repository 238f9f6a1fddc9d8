"""The project's docs stand on their own: no citation of files outside the checkout, and
every file the architecture page names exists."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    paths = [ROOT / name for name in listed.split("\0") if name]
    return [p for p in paths if p.suffix in {".py", ".md", ".html", ".txt", ".toml", ""}]


def test_nothing_cites_a_design_file_or_a_folder_outside_the_project():
    citing = [
        str(path.relative_to(ROOT))
        for path in tracked_text_files()
        if path.is_file()
        and path != Path(__file__).resolve()
        and re.search(r"DESIGN\.md|\.\./shared", path.read_text(errors="replace"))
    ]
    assert citing == []


def test_every_file_the_architecture_page_names_exists():
    page = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`([\w./-]+/[\w.-]+\.(?:py|md|toml|json))`", page))
    assert named, "the page names the modules it describes"
    assert sorted(name for name in named if not (ROOT / name).exists()) == []
