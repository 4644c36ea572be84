"""Checks of a page's words shared by the browser tests: English on a German page, internal codes on any page."""

from __future__ import annotations

import re

# An English sentence on a German page: at least two common English function words (one may be a product name).
ENGLISH_WORDS = re.compile(
    r"\b(the|your|you|and|to|of|with|for|this|is|are|please|has|have|will|from|been|was|not yet|no|yes|here)\b",
    re.IGNORECASE,
)
# Proper names and German words that happen to look English ("Online", "App" are German too): never counted.
ENGLISH_ALLOWED = re.compile(r"FinLab Financial Services|Autohaus Nord|IOTA|OpenID|Google Authenticator")
INTERNAL_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b|\b[A-Z]+_[A-Z_]+\b|\bqr-purchase:|\bcents?\b|\bminor units?\b")

# The visible text of a page, one entry per text node, without code samples and what the page marks as not
# translatable (translate="no": DIDs, e-mail addresses, hashes a person may copy).
VISIBLE_TEXT_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (!text) continue;
    const el = node.parentElement;
    if (!el || el.closest('script, style, code, pre, kbd, samp, [translate=no], [hidden], .payload, .catalogue-text')) continue;
    if (!el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    out.push(text);
  }
  return out;
}"""


def is_english_sentence(text: str) -> bool:
    """Two common English function words, or "the"/"your" in a text of three words or more."""
    words = [word.lower() for word in ENGLISH_WORDS.findall(ENGLISH_ALLOWED.sub("", text))]
    return len(words) >= 2 or (len(words) == 1 and len(text.split()) >= 3 and words[0] in ("the", "your"))
