# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The verify report as one self-contained HTML page: a map of the fleet, the tunnels that are
not up with what to do, and a sortable table of every tunnel.

Everything is inline (CSS, SVG, a few lines of script to sort the table), so the page opens
from a file, a CI artifact or a mail attachment with no network.

The map's layout comes from networkx (Kamada-Kawai, per connected component, started from a
seeded spring layout), imported only when a page is made: the rest of the collection, and
ansible-test's import test, do not need it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
from html import escape

from ansible_collections.fleet.ipsec.plugins.module_utils.verdict import UNKNOWN

# The layout must not change from run to run, or two reports of the same fleet would not
# look alike: every random start is drawn from this seed.
SEED = 1311

# Colour and stroke pattern per verdict. The patterns keep the verdicts apart for readers
# who cannot tell the colours apart, and in a greyscale print.
STYLE = {
    'up': ('#2e7d32', ''),
    'half_up': ('#ef6c00', '8 3'),
    'stale': ('#8e24aa', '2 3'),
    'negotiating': ('#1e88e5', '6 2 2 2'),
    'no_sa': ('#d32f2f', '10 4'),
    'no_policy': ('#6d1b1b', '3 2'),
    'unknown': ('#757575', '1 3'),
}
LAYOUT_ERROR = ('the report page needs networkx (with numpy and scipy) on the controller, for the layout '
                'of the fleet map: pip install networkx numpy scipy (the versions it supports are in the '
                "collection's requirements.txt)")

WIDTH = 1200.0
MARGIN = 40.0
# The least distance between two nodes' centres on the map: room for both circles and a label.
APART = 28.0
# Room per node of a component, so that small fleets are drawn at a natural size.
NATURAL = 150.0


class LayoutError(Exception):
    pass


def _networkx():
    try:
        import networkx  # pylint: disable=import-outside-toplevel
        import numpy  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
        import scipy  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
    except ImportError as exc:
        raise LayoutError('%s (%s)' % (LAYOUT_ERROR, exc))
    return networkx


def _apart(positions, distance, passes=5):
    """Move nodes closer than `distance` apart, each by half of what is missing.

    Kamada-Kawai gives nodes with the same neighbours (the hubs of one hub-and-spoke topology)
    almost the same place; this only separates such near-duplicates enough for their circles
    and labels, and leaves the rest of the layout as it is.
    """
    names = sorted(positions)
    for _round in range(passes):
        moved = False
        for index, a in enumerate(names):
            for b in names[index + 1:]:
                (xa, ya), (xb, yb) = positions[a], positions[b]
                gap = math.hypot(xb - xa, yb - ya)
                if gap >= distance:
                    continue
                # Identical places have no direction: split them left and right.
                ux, uy = ((xb - xa) / gap, (yb - ya) / gap) if gap > 1e-9 else (1.0, 0.0)
                push = (distance - gap) / 2.0
                positions[a] = (xa - ux * push, ya - uy * push)
                positions[b] = (xb + ux * push, yb + uy * push)
                moved = True
        if not moved:
            break
    return positions


def _component_layout(nx, graph):
    """Positions in about [-1, 1] for one connected component.

    Kamada-Kawai places nodes so that drawn distances follow path lengths, which keeps a
    hub's spokes around it and a mesh round, and spreads a few hundred edges far better than a
    plain spring layout; it is started from a seeded spring layout so that it is deterministic
    and does not begin from the circle (slow to unfold for large stars).
    """
    nodes = sorted(graph.nodes())
    if len(nodes) == 1:
        return {nodes[0]: (0.0, 0.0)}
    if len(nodes) == 2:
        return {nodes[0]: (-1.0, 0.0), nodes[1]: (1.0, 0.0)}
    ordered = nx.Graph()
    ordered.add_nodes_from(nodes)
    ordered.add_edges_from(sorted(tuple(sorted(edge)) for edge in graph.edges()))
    start = nx.spring_layout(ordered, seed=SEED)
    positions = nx.kamada_kawai_layout(ordered, pos=start)
    return dict((node, (float(x), float(y))) for node, (x, y) in positions.items())


def layout(nodes, edges):
    """{node: (x, y)} in page units, and the width and height of the map.

    Connected components are laid out apart and packed in rows, largest first, each given room
    in proportion to the square root of its node count (its area then follows its size).
    """
    nx = _networkx()
    graph = nx.Graph()
    graph.add_nodes_from(sorted(nodes))
    graph.add_edges_from(edges)
    components = sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c[0]))
    total = float(sum(len(c) for c in components)) or 1.0
    usable = WIDTH - 2 * MARGIN
    positions = {}
    x, y, row_height, widest = MARGIN, MARGIN, 0.0, 0.0
    for component in components:
        if len(component) == 1:
            size = 60.0
        else:
            # A small fleet is drawn at its natural size, not blown up to the page's width.
            size = max(120.0, min(usable * math.sqrt(len(component) / total), NATURAL * math.sqrt(len(component))))
        size = min(size, usable)
        if x + size > WIDTH - MARGIN + 0.5:
            x, y, row_height = MARGIN, y + row_height, 0.0
        local = _component_layout(nx, graph.subgraph(component))
        xs = [p[0] for p in local.values()]
        ys = [p[1] for p in local.values()]
        span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
        inner = size - 40.0 if len(component) > 1 else 0.0
        height = (max(ys) - min(ys)) / span * inner + 40.0 if len(component) > 1 else size
        placed = dict((node, (x + 20.0 + (px - min(xs)) / span * inner, y + 20.0 + (py - min(ys)) / span * inner))
                      for node, (px, py) in local.items())
        for node, (px, py) in _apart(placed, APART).items():
            positions[node] = (round(px, 1), round(py, 1))
        x += size
        widest = max(widest, x)
        row_height = max(row_height, height)
    return positions, widest + MARGIN, y + row_height + MARGIN


# ---------------------------------------------------------------------------- pieces

def _chip(verdict):
    return '<span class="chip v-%s">%s</span>' % (escape(verdict), escape(verdict))


def _spi_cell(tunnel):
    return ' '.join('%s&gt;%s' % (escape(e['spi_out'] or '-'), escape(e['spi_in'] or '-'))
                    for e in tunnel['ends'] if e['verified'])


def _bytes_cell(tunnel):
    parts, total = [], 0
    for end in tunnel['ends']:
        if not end['verified']:
            continue
        parts.append('%s/%s' % tuple('-' if end[k] is None else str(end[k]) for k in ('bytes_out', 'bytes_in')))
        total += (end['bytes_out'] or 0) + (end['bytes_in'] or 0)
    return ' '.join(parts), total


def _age_text(seconds):
    if seconds is None:
        return '-'
    if seconds < 120:
        return '%ds' % seconds
    if seconds < 7200:
        return '%dm' % (seconds // 60)
    return '%dh' % (seconds // 3600)


def _age_cell(tunnel):
    ages = [e['age_out'] for e in tunnel['ends'] if e['verified']]
    known = [a for a in ages if a is not None]
    return ' '.join(_age_text(a) for a in ages), (max(known) if known else -1)


def _backends(tunnel):
    return ' '.join(e['backend'] or '-' for e in tunnel['ends'] if e['inventory']) or '-'


def _edge_paths(tunnels, positions):
    """One SVG path per tunnel; tunnels between the same two hosts bend apart so each shows."""
    by_pair = {}
    for tunnel in tunnels:
        names = [e['name'] for e in tunnel['ends']]
        if len(names) != 2:
            names = (names + names)[:2]
        by_pair.setdefault(tuple(sorted(names)), []).append(tunnel['name'])
    paths = {}
    for (a, b), names in by_pair.items():
        (x1, y1), (x2, y2) = positions[a], positions[b]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        nx_, ny = -(y2 - y1) / length, (x2 - x1) / length
        for index, name in enumerate(sorted(names)):
            bend = (index - (len(names) - 1) / 2.0) * 14.0
            if not bend:
                paths[name] = 'M%.1f %.1fL%.1f %.1f' % (x1, y1, x2, y2)
            else:
                cx, cy = (x1 + x2) / 2.0 + nx_ * bend * 2, (y1 + y2) / 2.0 + ny * bend * 2
                paths[name] = 'M%.1f %.1fQ%.1f %.1f %.1f %.1f' % (x1, y1, cx, cy, x2, y2)
    return paths


def _map(report, row_ids):
    tunnels = report['tunnels']
    hosts = dict((h['name'], h) for h in report['hosts'])
    nodes = set(hosts)
    for tunnel in tunnels:
        nodes.update(e['name'] for e in tunnel['ends'])
    edges = [tuple(e['name'] for e in t['ends'])[:2] for t in tunnels if len(t['ends']) == 2]
    positions, width, height = layout(nodes, edges)
    paths = _edge_paths(tunnels, positions)
    worst = {}
    for tunnel in tunnels:
        if not tunnel['up']:
            for end in tunnel['ends']:
                worst[end['name']] = True
    # Never drawn larger than 1:1, so that a small fleet's labels keep their size.
    out = ['<svg id="fleet-map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" style="max-width:%dpx" '
           'role="img" aria-label="Map of %d hosts and %d tunnels">'
           % (math.ceil(width), math.ceil(height), math.ceil(width), len(nodes), len(tunnels))]
    # Up tunnels first, so the ones that need attention are drawn over them.
    out.append('<g class="edges">')
    for tunnel in sorted(tunnels, key=lambda t: (t['up'] is False, t['name'])):
        colour, dashes = STYLE.get(tunnel['verdict'], STYLE[UNKNOWN])
        ends = ' '.join(e['name'] for e in tunnel['ends'])
        out.append('<a href="#%s"><path class="edge v-%s" d="%s" stroke="%s"%s data-tunnel="%s" data-verdict="%s">'
                   '<title>%s (%s): %s</title></path></a>'
                   % (row_ids[tunnel['name']], escape(tunnel['verdict']), paths[tunnel['name']], colour,
                      ' stroke-dasharray="%s"' % dashes if dashes else '', escape(tunnel['name']),
                      escape(tunnel['verdict']), escape(tunnel['name']), escape(ends), escape(tunnel['verdict'])))
    out.append('</g><g class="nodes">')
    for name in sorted(nodes):
        x, y = positions[name]
        host = hosts.get(name)
        classes = ['node']
        if host is None:
            classes.append('outside')
        elif host['error']:
            classes.append('unreadable')
        if worst.get(name):
            classes.append('attention')
        detail = ('outside the inventory' if host is None else
                  '%s, %s, %d tunnels%s' % (host['backend'] or '?', host['os_family'] or '?', host['tunnels'],
                                            ': ' + host['error'] if host['error'] else ''))
        out.append('<g class="%s" data-host="%s"><circle cx="%.1f" cy="%.1f" r="5"><title>%s (%s)</title></circle>'
                   '<text x="%.1f" y="%.1f">%s</text></g>'
                   % (' '.join(classes), escape(name), x, y, escape(name), escape(detail), x + 7, y - 6, escape(name)))
    out.append('</g></svg>')
    return '\n'.join(out)


def _legend(report):
    counts = report['summary']['verdicts']
    items = []
    for verdict in report['verdicts']:
        colour, dashes = STYLE.get(verdict, STYLE[UNKNOWN])
        items.append('<li><svg width="36" height="10" aria-hidden="true"><line x1="0" y1="5" x2="36" y2="5" '
                     'stroke="%s" stroke-width="3"%s/></svg> %s <b>%d</b></li>'
                     % (colour, ' stroke-dasharray="%s"' % dashes if dashes else '', escape(verdict),
                        counts.get(verdict, 0)))
    return '<ul class="legend">%s</ul>' % ''.join(items)


def _problems(report, row_ids):
    down = [t for t in report['tunnels'] if not t['up']]
    if not down:
        return '<p class="all-up">Every tunnel is up.</p>'
    items = []
    for tunnel in down:
        ends = ' &#x2194; '.join(escape(e['name']) for e in tunnel['ends'])
        reasons = ''.join('<li>%s</li>' % escape(r) for r in tunnel['reasons'])
        items.append('<li class="problem" data-tunnel="%s"><h3><a href="#%s">%s</a> %s <span class="ends">%s</span></h3>'
                     '<ul class="reasons">%s</ul><p class="next">Next step: <code>%s</code></p></li>'
                     % (escape(tunnel['name']), row_ids[tunnel['name']], escape(tunnel['name']),
                        _chip(tunnel['verdict']), ends, reasons, escape(tunnel['next_step'] or '')))
    return '<ol class="problems">%s</ol>' % ''.join(items)


def _table(report, row_ids):
    rank = dict((v, i) for i, v in enumerate(report['verdicts']))
    head = [('tunnel', 'text'), ('ends', 'text'), ('verdict', 'num'), ('SPIs (out&gt;in per end)', 'text'),
            ('bytes (out/in per end)', 'num'), ('age', 'num'), ('backend', 'text'), ('mode', 'text')]
    out = ['<table id="tunnels"><thead><tr>']
    for index, (label, kind) in enumerate(head):
        out.append('<th data-type="%s" data-col="%d" tabindex="0" aria-sort="%s">%s</th>'
                   % (kind, index, 'ascending' if index == 0 else 'none', label))
    out.append('</tr></thead><tbody>')
    for tunnel in report['tunnels']:
        byte_text, byte_total = _bytes_cell(tunnel)
        age_text, age_sort = _age_cell(tunnel)
        out.append('<tr id="%s" class="v-%s" data-tunnel="%s">'
                   '<td>%s</td><td>%s</td><td data-sort="%d">%s</td><td class="mono">%s</td>'
                   '<td class="mono" data-sort="%d">%s</td><td data-sort="%d">%s</td><td>%s</td><td>%s</td></tr>'
                   % (row_ids[tunnel['name']], escape(tunnel['verdict']), escape(tunnel['name']),
                      escape(tunnel['name']), escape(' '.join(e['name'] for e in tunnel['ends'])),
                      rank.get(tunnel['verdict'], len(rank)), _chip(tunnel['verdict']), _spi_cell(tunnel),
                      byte_total, escape(byte_text), age_sort, escape(age_text), escape(_backends(tunnel)),
                      escape(tunnel['mode'] or '-')))
    out.append('</tbody></table>')
    return ''.join(out)


_CSS = '''
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1280px;padding:16px;color:#1b1b1b}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}h3{font-size:14px;margin:0}
.summary{color:#444;margin:0 0 8px}
.legend{list-style:none;padding:0;margin:4px 0 8px;display:flex;flex-wrap:wrap;gap:4px 18px}
.legend li{display:flex;align-items:center;gap:6px}
#fleet-map{width:100%;height:auto;border:1px solid #ddd;background:#fcfcfc}
#fleet-map .edge{fill:none;stroke-width:1.2;opacity:.55}
#fleet-map .edge:not(.v-up){stroke-width:3;opacity:1}
#fleet-map a:hover .edge{stroke-width:5;opacity:1}
#fleet-map .node circle{fill:#fff;stroke:#333;stroke-width:1.5}
#fleet-map .node.attention circle{fill:#ffd54f}
#fleet-map .node.outside circle{stroke-dasharray:2 2;fill:#eee}
#fleet-map .node.unreadable circle{fill:#9e9e9e}
#fleet-map text{font-size:10px;fill:#222;paint-order:stroke;stroke:#fcfcfc;stroke-width:3px;pointer-events:none}
.chip{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:12px}
''' + ''.join('.chip.v-%s{background:%s}' % (v, c) for v, (c, _d) in sorted(STYLE.items())) + '''
.problems{padding-left:20px}.problem{margin:0 0 12px}.problem .ends{color:#555;font-weight:normal}
.reasons{margin:4px 0;padding-left:18px;color:#333}
.next code{background:#f3f3f3;padding:1px 4px;border-radius:3px;white-space:pre-wrap}
.all-up{color:#2e7d32;font-weight:bold}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e3e3e3;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f1f1f1;cursor:pointer;user-select:none;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
tr:target{outline:2px solid #1e88e5}
tbody tr:not(.v-up){background:#fff6f2}
.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
footer{margin-top:24px;color:#666;font-size:12px}
'''

# Sorts on click or Enter: numbers by data-sort, text by its content; a second click reverses.
_SCRIPT = '''
(function () {
  var table = document.getElementById('tunnels');
  var body = table.tBodies[0];
  function key(row, col, numeric) {
    var cell = row.cells[col];
    return numeric ? Number(cell.getAttribute('data-sort')) : cell.textContent;
  }
  function sort(th) {
    var col = Number(th.getAttribute('data-col'));
    var numeric = th.getAttribute('data-type') === 'num';
    var order = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
    var sign = order === 'ascending' ? 1 : -1;
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, col, numeric), y = key(b, col, numeric);
      var c = numeric ? x - y : x.localeCompare(y);
      return c !== 0 ? sign * c : a.cells[0].textContent.localeCompare(b.cells[0].textContent);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.setAttribute('aria-sort', 'none'); });
    th.setAttribute('aria-sort', order);
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    th.addEventListener('click', function () { sort(th); });
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter') { sort(th); } });
  });
}());
'''


def page(report):
    """The whole page, as text."""
    row_ids = dict((t['name'], 't%d' % i) for i, t in enumerate(report['tunnels']))
    summary = report['summary']
    title = 'IPsec verify: %d of %d tunnels up' % (summary['up'], summary['tunnels'])
    down = summary['not_up']
    parts = [
        '<!DOCTYPE html>',
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<title>%s</title>' % escape(title),
        '<style>%s</style></head><body>' % _CSS,
        '<header><h1>%s</h1>' % escape(title),
        '<p class="summary">%d hosts, %d tunnels, %s; written %s by fleet.ipsec\'s verify.yml.</p></header>'
        % (summary['hosts'], summary['tunnels'], '%d not up' % down if down else 'all up', escape(report['generated'])),
        '<section><h2>Map</h2>',
        _legend(report),
        _map(report, row_ids),
        '<p class="summary">Hosts with a tunnel that is not up are yellow; grey hosts could not be read; '
        'dashed circles are ends outside the inventory. Hover over a tunnel for its name; click it for its row.</p>',
        '</section>',
        '<section><h2>Not up (%d)</h2>%s</section>' % (down, _problems(report, row_ids)),
        '<section><h2>Tunnels (%d)</h2>%s</section>' % (summary['tunnels'], _table(report, row_ids)),
        '<footer>%s, format version %d. The same data: verify.json; per tunnel test cases: junit.xml; '
        'metrics: ipsec.prom.</footer>' % (escape(report['format']), report['version']),
        '<script>%s</script>' % _SCRIPT,
        '</body></html>',
    ]
    return '\n'.join(parts) + '\n'
