"""Accessibility of every page, as axe-core audits it (WCAG 2.0/2.1/2.2 A and AA rules).

axe-core comes from npm (``tests/ui/package.json``, installed by ``tools/install-test-deps.sh``
into ``tests/ui/node_modules``); it is injected into the running page and walks Panel's open
shadow roots. A serious or critical finding on any page (every lesson, in en and zh) fails.
"""

from __future__ import annotations

import pytest

from components.lessons import LESSONS

from .helpers import axe_violations, describe_violations, open_page

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("slug", list(LESSONS))
def test_no_serious_axe_findings(page, app_url, slug, lang):
    open_page(page, app_url, f"lesson={slug}&lang={lang}")
    found = axe_violations(page)
    assert not found, f"axe-core on ?lesson={slug}&lang={lang}:\n{describe_violations(found)}"
