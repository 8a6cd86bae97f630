"""Print the README's code block marked `<!-- ci: NAME -->`: CI runs exactly what a reader is told to."""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
MARKED_BLOCK = re.compile(r"^<!-- ci: ([\w-]+) -->\n```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def marked_blocks(readme: str) -> dict[str, str]:
    """Each marked block's commands, by name."""
    return {match[1]: match[2] for match in MARKED_BLOCK.finditer(readme)}


if __name__ == "__main__":
    blocks = marked_blocks(README.read_text(encoding="utf-8"))
    if len(sys.argv) != 2 or sys.argv[1] not in blocks:
        sys.exit(f"usage: readme_block.py NAME, NAME one of {sorted(blocks)}")
    sys.stdout.write(blocks[sys.argv[1]])
