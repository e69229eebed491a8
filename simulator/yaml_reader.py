"""A YAML reader for untrusted scenario files: bounded size, depth and alias expansion, no duplicate keys.

``yaml.safe_load`` builds anything a document describes. A scenario file is
input from anyone, so :func:`read_yaml` refuses, with one line naming the key
path where it could:

- a document larger than :data:`MAX_BYTES`;
- nesting deeper than :data:`MAX_DEPTH` (the composer recurses once per level,
  so a deep document would overflow the stack);
- more than :data:`MAX_ALIASES` alias uses, or a document that expands, through
  its aliases, to more than :data:`MAX_NODES` values (a "billion laughs" is a
  kilobyte that expands to billions, and anything that walks or prints it
  afterwards runs out of memory), or an alias inside its own anchor (a cycle);
- a key given twice in one mapping (YAML keeps the later one silently);

and keeps an impossible date (``2020-13-01``) as text, so that the scenario's
validation names the key it was given for.

>>> read_yaml("a: 1\\nb: [x, y]\\n", "s.yaml")
{'a': 1, 'b': ['x', 'y']}
>>> read_yaml("a: 1\\na: 2\\n", "s.yaml")
Traceback (most recent call last):
...
simulator.errors.ScenarioError: s.yaml: a: duplicate key (lines 1 and 2): give each key once
"""
from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent, MappingEndEvent, MappingStartEvent, SequenceEndEvent, SequenceStartEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .errors import ScenarioError, shorten

#: Largest document read, in bytes (the shipped scenarios are 2-4 KB).
MAX_BYTES = 1_000_000
#: Deepest nesting of mappings and lists, aliases expanded (the shipped scenarios nest 4 deep).
MAX_DEPTH = 50
#: Most alias uses (``*name``) in one document.
MAX_ALIASES = 1_000
#: Most values (scalars, lists, mappings) in the document once its aliases are expanded.
MAX_NODES = 100_000

_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Refused(yaml.YAMLError):
    """A limit or rule of this reader, broken at ``key`` (a list of path parts)."""

    def __init__(self, key: list[str], problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


class LimitedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that tracks the key path, depth, aliases and duplicate keys as it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str] = []  # key path of the node being composed
        self._depth = 0  # collections open around it
        self._aliases = 0
        # Per composed node: (values it expands to, height); a node absent here is still being composed.
        self._sizes: dict[int, tuple[int, int]] = {}

    def _refuse(self, problem: str, key: list[str] | None = None) -> _Refused:
        return _Refused(list(self._path) if key is None else key, problem)

    def _refuse_depth(self, problem: str) -> _Refused:
        # Name where the nesting starts, not fifty list indices: drop the trailing ones, keep the head.
        path = list(self._path)
        while len(path) > 1 and path[-1].isdigit():
            path.pop()
        return _Refused(path[:10], problem)

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node, refusing it when a limit is passed."""
        if self.check_event(AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise self._refuse(f"more than {MAX_ALIASES} aliases (*name) in one file")
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:  # its anchor is still open: the alias is inside it
                raise self._refuse("an alias inside its own anchor (a cycle)")
            self._check_size(*self._sizes[id(node)])
            return node
        collection = isinstance(self.peek_event(), (SequenceStartEvent, MappingStartEvent))
        if collection:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise self._refuse_depth(f"nested more than {MAX_DEPTH} levels deep")
        node = super().compose_node(parent, index)
        if collection:
            self._depth -= 1
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        sizes = [self._sizes[id(child)] for child in children]
        size = 1 + sum(s for s, _ in sizes)
        height = 1 + max((h for _, h in sizes), default=0) if collection else 0
        self._check_size(size, height)
        self._sizes[id(node)] = (size, height)
        return node

    def _check_size(self, size: int, height: int) -> None:
        # The node's own depth plus its height is how deep the built value nests here.
        if size > MAX_NODES:
            raise self._refuse(f"expands to more than {MAX_NODES:,} values (through aliases, *name)")
        if self._depth + height > MAX_DEPTH:
            raise self._refuse_depth(f"nested more than {MAX_DEPTH} levels deep (through aliases, *name)")

    def compose_sequence_node(self, anchor: str | None) -> SequenceNode:
        """PyYAML's list composer, with each item's index kept in the key path."""
        start_event = self.get_event()
        tag = start_event.tag
        if tag is None or tag == "!":
            tag = self.resolve(SequenceNode, None, start_event.implicit)
        node = SequenceNode(tag, [], start_event.start_mark, None, flow_style=start_event.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        index = 0
        while not self.check_event(SequenceEndEvent):
            self._path.append(str(index))
            node.value.append(self.compose_node(node, index))
            self._path.pop()
            index += 1
        end_event = self.get_event()
        node.end_mark = end_event.end_mark
        return node

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:
        """PyYAML's mapping composer, with the key path kept and duplicate keys refused."""
        start_event = self.get_event()
        tag = start_event.tag
        if tag is None or tag == "!":
            tag = self.resolve(MappingNode, None, start_event.implicit)
        node = MappingNode(tag, [], start_event.start_mark, None, flow_style=start_event.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        seen: dict[Any, int] = {}  # key -> line it was first given on
        while not self.check_event(MappingEndEvent):
            item_key = self.compose_node(node, None)
            name = _key_text(item_key)
            self._path.append(name)
            item_value = self.compose_node(node, item_key)
            self._path.pop()
            identity = self._identity(item_key)
            if identity is not None:
                line = item_key.start_mark.line + 1
                if identity in seen:
                    raise self._refuse(f"duplicate key (lines {seen[identity]} and {line}): give each key once",
                                       [*self._path, name])
                seen[identity] = line
            node.value.append((item_key, item_value))
        end_event = self.get_event()
        node.end_mark = end_event.end_mark
        return node

    def _identity(self, key: Any) -> Any:
        """What makes two keys the same key (``3`` and ``3.0`` are), or None to skip the check."""
        if not isinstance(key, ScalarNode) or key.tag == _MERGE:
            return None
        try:
            value = self.construct_object(key, deep=True)
            hash(value)
        except Exception:  # an unbuildable or unhashable key: construction reports it later
            return None
        return value

    def construct_lenient_timestamp(self, node: ScalarNode) -> Any:
        """A date or time; an impossible one (month 13) stays text, for validation to name its key."""
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


LimitedLoader.add_constructor(_TIMESTAMP, LimitedLoader.construct_lenient_timestamp)


def _key_text(node: Any) -> str:
    """A key as a key path shows it: scalars as written, anything else as its kind."""
    if isinstance(node, ScalarNode):
        return str(node.value)
    return "<list key>" if isinstance(node, SequenceNode) else "<mapping key>"


def read_yaml(text: str, source: str) -> Any:
    """Parse one YAML document of untrusted text, within this module's limits.

    Raises
    ------
    ScenarioError
        One line naming ``source``, the key path where it is known, and the problem.
    """
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ScenarioError(source, None, f"larger than {MAX_BYTES:,} bytes: not a scenario file")
    loader = LimitedLoader(text)
    try:
        return loader.get_single_data()
    except _Refused as exc:
        raise ScenarioError(source, ".".join(exc.key) or None, exc.problem) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(source, None, f"malformed YAML: {where}{shorten(problem)}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a constructor's own error, e.g. a bad !!binary
        raise ScenarioError(source, None, f"unreadable value: {shorten(str(exc))}") from None
    except RecursionError:  # deep merges (<<) of deep mappings; the depth limit should come first
        raise ScenarioError(source, None, f"nested too deep (more than {MAX_DEPTH} levels)") from None
    finally:
        loader.dispose()


__all__ = ["MAX_ALIASES", "MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "LimitedLoader", "read_yaml"]
