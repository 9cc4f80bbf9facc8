"""Compiling an SRGS 1.0 XML grammar (GRXML, as Microsoft Speech Platform reads it) into rules.

Supported: ``<grammar root mode xml:lang tag-format>``, ``<rule id scope>``, ``<item repeat>``
(``n``, ``n-m``, ``n-``; ``repeat-prob`` and ``weight`` are read and ignored), ``<one-of>``,
``<ruleref uri="#rule">`` and ``<ruleref special="NULL|VOID|GARBAGE">``, ``<token>``, plain text
and ``<tag>``; ``<example>``, ``<meta>``, ``<metadata>`` and ``<lexicon>`` are ignored. Elements
from other namespaces are ignored at grammar level and refused inside a rule (they could change
what matches). Everything refused raises GrammarError with the reason and the rule.

Which rule is matched: ``grammarRule`` when given, else the ``root`` attribute, else every public
rule as alternatives (what Microsoft's recogniser does with a root-less grammar).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from percl.media.grammar.errors import GrammarError
from percl.media.grammar.expansion import (
    Compiled,
    Node,
    OneOf,
    Repeat,
    Rule,
    RuleRef,
    Seq,
    Special,
    SpecialRef,
    Tag,
    TagFormat,
    Tokens,
    check_left_recursion,
    check_references,
)
from percl.media.grammar.normalize import Word, dtmf_grammar_words, voice_words
from percl.media.grammar.recognizer import Grammar
from percl.media.grammar.script import has_assignment, parse_script
from percl.media.grammar.xmlsafe import parse_xml

SRGS_NS = "http://www.w3.org/2001/06/grammar"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
PUBLIC_ROOT = ""  # the name of the synthetic root of a root-less grammar (no rule id can be empty)
MAX_REPEAT_MIN = 1000
TAG_FORMATS: dict[str, TagFormat] = {
    "semantics/1.0-literals": TagFormat.LITERALS,
    "semantics/1.0": TagFormat.SCRIPT,
    "semantics/1.0.2006": TagFormat.SCRIPT,
    "swi-semantics/1.0": TagFormat.SCRIPT,
    "semantics-ms/1.0": TagFormat.SCRIPT,
}
_IGNORED_IN_GRAMMAR = {"meta", "metadata", "lexicon"}
_REPEAT = re.compile(r"\s*(\d+)\s*(?:(-)\s*(\d+)?)?\s*")


def compile_grxml(source: str | bytes, rule: str | None = None) -> Grammar:
    """Compile a GRXML document; `rule` is GetSpeech's ``grammarRule`` (it overrides ``root``).

    Raises GrammarError for malformed or unsafe XML, a missing or unknown root rule or
    grammarRule, a reference to an undefined or external rule, left recursion, or an unsupported
    element, attribute value or tag script construct.
    """
    element = parse_xml(source)
    try:
        compiled = _Compiler(element).compile(rule or None)
    except RecursionError:
        raise GrammarError("the grammar nests elements or rules too deeply") from None
    return Grammar(dtmf=compiled) if compiled.mode == "dtmf" else Grammar(voice=compiled)


def _local(element: ET.Element) -> str | None:
    """The SRGS element name, or None for an element from another namespace."""
    ns, _, local = element.tag[1:].partition("}") if element.tag.startswith("{") else ("", "", element.tag)
    return local if ns in ("", SRGS_NS) else None


class _Compiler:
    def __init__(self, grammar: ET.Element) -> None:
        if _local(grammar) != "grammar":
            raise GrammarError(f"not an SRGS grammar: the document element is <{grammar.tag}>")
        self.grammar = grammar
        self.mode = grammar.get("mode", "voice").strip()
        if self.mode not in ("voice", "dtmf"):
            raise GrammarError(f"grammar mode {self.mode!r} is not supported (voice or dtmf)")
        fmt = grammar.get("tag-format", "").strip()
        if fmt and fmt not in TAG_FORMATS:
            raise GrammarError(f"tag-format {fmt!r} is not supported (one of: {', '.join(TAG_FORMATS)})")
        self.tag_format: TagFormat | None = TAG_FORMATS[fmt] if fmt else None
        self.has_tags = False
        self.rule = ""

    def compile(self, wanted: str | None) -> Compiled:
        rules = self._rules()
        root = self._root(rules, wanted)
        if root == PUBLIC_ROOT:
            publics = tuple(RuleRef(name) for name, r in rules.items() if r.public)
            rules[PUBLIC_ROOT] = Rule(PUBLIC_ROOT, OneOf(publics), public=True)
        check_references(rules)
        check_left_recursion(rules)
        return Compiled(
            rules=rules,
            root=root,
            tag_format=self.tag_format or TagFormat.SCRIPT,
            has_tags=self.has_tags,
            mode=self.mode,
            language=self.grammar.get(XML_LANG, "en-US"),
        )

    def _rules(self) -> dict[str, Rule]:
        rules: dict[str, Rule] = {}
        for child in self.grammar:
            name = _local(child)
            if name is None or name in _IGNORED_IN_GRAMMAR:
                continue
            if name == "tag":
                raise GrammarError("a grammar-level <tag> (global script) is not supported")
            if name != "rule":
                raise GrammarError(f"unexpected <{name}> in <grammar>")
            rule_id = child.get("id", "").strip()
            if not rule_id:
                raise GrammarError("a <rule> has no id")
            if rule_id in rules:
                raise GrammarError(f"rule {rule_id!r} is defined twice")
            self.rule = rule_id
            body = self._content(child)
            if isinstance(body, Seq) and not body.items:
                raise GrammarError(f"rule {rule_id!r} is empty")
            rules[rule_id] = Rule(rule_id, body, public=child.get("scope", "private").strip() == "public")
        if not rules:
            raise GrammarError("the grammar defines no rules")
        return rules

    def _root(self, rules: dict[str, Rule], wanted: str | None) -> str:
        declared = self.grammar.get("root")
        if declared is not None and declared.strip() not in rules:
            raise GrammarError(f"root rule {declared.strip()!r} is not defined in the grammar")
        if wanted is not None:
            if wanted not in rules:
                known = ", ".join(rules)
                raise GrammarError(f"grammarRule {wanted!r} is not a rule of the grammar ({known})")
            return wanted
        if declared is not None:
            return declared.strip()
        if not any(r.public for r in rules.values()):
            raise GrammarError("no root rule: no root attribute, no grammarRule and no public rule")
        return PUBLIC_ROOT

    def _content(self, element: ET.Element) -> Node:
        """The sequence an element's text, children and their tails spell, in document order."""
        items: list[Node] = []
        self._text(element.text, items)
        for child in element:
            node = self._child(child)
            if node is not None:
                items.append(node)
            self._text(child.tail, items)
        return items[0] if len(items) == 1 else Seq(tuple(items))

    def _text(self, text: str | None, items: list[Node]) -> None:
        if text and text.strip():
            words = self._words(text)
            if words:
                items.append(Tokens(words))

    def _words(self, text: str) -> tuple[Word, ...]:
        return dtmf_grammar_words(text) if self.mode == "dtmf" else voice_words(text)

    def _child(self, child: ET.Element) -> Node | None:
        name = _local(child)
        if name is None:
            raise GrammarError(f"element <{child.tag}> from another namespace in rule {self.rule!r}")
        if name == "item":
            body = self._content(child)
            repeat = child.get("repeat")
            return body if repeat is None else self._repeat(body, repeat)
        if name == "one-of":
            return self._one_of(child)
        if name == "ruleref":
            return self._ruleref(child)
        if name == "token":
            return Tokens(self._words("".join(child.itertext())))
        if name == "tag":
            return self._tag("".join(child.itertext()))
        if name == "example":
            return None
        raise GrammarError(f"unsupported element <{name}> in rule {self.rule!r}")

    def _one_of(self, element: ET.Element) -> Node:
        if (element.text or "").strip() or any((c.tail or "").strip() for c in element):
            raise GrammarError(f"text directly inside <one-of> in rule {self.rule!r} (wrap it in <item>)")
        items = []
        for child in element:
            if _local(child) != "item":
                raise GrammarError(
                    f"<one-of> in rule {self.rule!r} may contain only <item>, not <{child.tag}>"
                )
            items.append(self._child(child))
        if not items:
            raise GrammarError(f"empty <one-of> in rule {self.rule!r}")
        return OneOf(tuple(i for i in items if i is not None))

    def _repeat(self, body: Node, spec: str) -> Node:
        m = _REPEAT.fullmatch(spec)
        if m is None:
            raise GrammarError(f"repeat={spec!r} in rule {self.rule!r} is not n, n-m or n-")
        low = int(m.group(1))
        high = low if m.group(2) is None else (int(m.group(3)) if m.group(3) else None)
        if high is not None and high < low:
            raise GrammarError(f"repeat={spec!r} in rule {self.rule!r}: the maximum is below the minimum")
        if low > MAX_REPEAT_MIN:
            raise GrammarError(f"repeat={spec!r} in rule {self.rule!r}: minimums above {MAX_REPEAT_MIN} "
                               "are not supported")
        return Repeat(body, low, high)

    def _ruleref(self, element: ET.Element) -> Node:
        special, uri = element.get("special"), element.get("uri")
        if special is not None:
            kind = special.strip().removeprefix("#").upper()
            if kind not in Special.__members__:
                raise GrammarError(f"unknown special rule {special!r} in rule {self.rule!r}")
            return SpecialRef(Special[kind])
        if uri is None or not uri.strip():
            raise GrammarError(f"<ruleref> without uri or special in rule {self.rule!r}")
        uri = uri.strip()
        if not uri.startswith("#"):
            raise GrammarError(f"external rule reference {uri!r} in rule {self.rule!r}: percl only "
                               "follows local references (#rule) and does not fetch other grammars")
        return RuleRef(uri[1:])

    def _tag(self, text: str) -> Node:
        self.has_tags = True
        if self.tag_format is TagFormat.LITERALS:
            return Tag(None, text.strip())
        if self.tag_format is TagFormat.SCRIPT:
            try:
                return Tag(parse_script(text))
            except GrammarError as err:
                raise GrammarError(f"{err} (rule {self.rule!r})") from None
        # No tag-format: a tag that parses as a script with an assignment is a script, else a literal.
        try:
            program = parse_script(text)
        except GrammarError:
            return Tag(None, text.strip())
        return Tag(program) if has_assignment(program) else Tag(None, text.strip())
