"""The README and docs stay true: set-up commands, printed numbers, examples, links."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from jaxfit.io import LAWS, _builtin_laws, get_law

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# The README and the general pages (the other recipe pages are their recipes' to check).
OWN_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             ROOT / "docs" / "recipes" / "ladder.md"]


def setup_command(n: int) -> str:
    """The bash command of step ``n`` of the README's "Set up" section."""
    section = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)\n\s*```", section, flags=re.S)
    return blocks[n - 1].strip()


def test_first_setup_command_prints_what_the_readme_says():
    cmd = setup_command(1)
    assert cmd.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install . && ")
    fit = cmd.rsplit("&& ", 1)[1]
    assert fit.startswith("jaxfit fit ")
    p = subprocess.run([sys.executable, "-m", "jaxfit", *shlex.split(fit)[1:]],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    header = next(line for line in lines if line.split()[:2] == ["A", "B"]).split()
    row = next(line for line in lines if line.startswith("0 ")).split()[1:]
    printed = dict(zip(header, row))
    assert printed["status"] == "converged"
    # "It prints `A ≈ 477.8, B ≈ 2143, E ≈ 1.817, alpha ≈ 0.3473, beta ≈ 0.3672`,
    # objective 0.00101827": each to the digits the README gives.
    claims = dict(re.findall(r"(\w+) ≈ ([\d.]+)", README.split("It prints", 1)[1][:120]))
    claims["objective"] = re.search(r"objective\s+([\d.]+)", README).group(1)
    assert set(claims) == {"A", "B", "E", "alpha", "beta", "objective"}
    for name, claim in claims.items():
        decimals = len(claim.split(".")[1]) if "." in claim else 0
        assert abs(float(printed[name]) - float(claim)) <= 0.5 * 10.0 ** -decimals, name


def test_second_setup_command_is_what_ci_runs():
    """.ci/run installs as the README's command 2 says, then runs its test command in a
    clone with no ../shared beside it."""
    cmd = setup_command(2)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv .venv" in ci and ". .venv/bin/activate" in ci
    install, test = cmd.split(". .venv/bin/activate && ", 1)[1].split(" && ")
    lines = [line.strip() for line in ci.splitlines()]
    assert install.replace(" -q", "") in [line.replace(" -q", "") for line in lines]
    assert f'(cd "$user/jaxfit" && {test})' in lines
    assert 'test ! -e "$user/shared"' in lines


# The README's and docs' python blocks (doctest-style ones included) run, in order, in a fresh
# interpreter per page, and their printed output is compared with the page: tests/test_docs.py.


def test_law_catalogue_lists_every_law_and_parameter():
    catalogue = (ROOT / "docs" / "laws.md").read_text()
    _builtin_laws()
    for name in LAWS:
        section = catalogue.split(f"## `{name}(", 1)
        assert len(section) == 2, f"{name} has no section in docs/laws.md"
        body = section[1].split("\n## ", 1)[0]
        for param in get_law(name).param_names:
            assert f"| `{param}`" in body, f"{name}: parameter {param} is not documented"


def test_sample_docstring_quotes_the_coverage_defaults_md_gives():
    """`jaxfit.sample`'s ``method`` argument quotes the 90% coverage of Laplace and NUTS on
    the synthetic power laws in compute; it said 79-85% and 89-90%, the size prior's
    figures of session 21, after the compute prior became the default for input C (docs/
    defaults.md: Laplace 0.84 / 0.81 / 0.75, NUTS 0.87 / 0.88 / 0.86)."""
    import jaxfit as jf

    row = (ROOT / "docs" / "defaults.md").read_text()
    m = re.search(r"Laplace covers ([\d.]+) / ([\d.]+) / ([\d.]+) at 9 / 20 / 40 points, NUTS "
                  r"\(the default\) ([\d.]+) / ([\d.]+) / ([\d.]+)", row)
    assert m, "docs/defaults.md's Laplace row no longer quotes the coverage"
    cov = [round(100 * float(v)) for v in m.groups()]
    laplace, nuts = cov[:3], cov[3:]
    doc = " ".join(jf.sample.__doc__.split())
    assert (f"covered {min(laplace)}-{max(laplace)}%, NUTS's {min(nuts)}-{max(nuts)}%"
            in doc), "jaxfit.sample's docstring quotes other coverage than docs/defaults.md"


@pytest.mark.parametrize("page", OWN_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    for target in re.findall(r"\]\(([^)#\s]+)\)", page.read_text()):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"
