# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Open a verify report's index.html in headless Chromium and check it against its verify.json.

    python3 tests/report/check_report.py DIR [--screenshot PNG] [--all-up] [--tunnels N]

Checks that the page loads with no console message of level error, fetches nothing (no
resource besides the page itself), draws one map edge and one table row per tunnel of
verify.json with that tunnel's verdict, one node per host and outside end with no two nodes
on top of each other, lists every tunnel that is not up with a next step, and sorts its table
when a header is clicked. Prints one line per check; exits 1 on the first failure.

Chromium and its driver are Debian's (/usr/bin/chromium, /usr/bin/chromedriver); nothing is
downloaded. Used by tests/report/test_browser.py and by the lab scenario (molecule/lab/verify.yml).
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import math
import os
import sys

CHROMIUM = os.environ.get('FLEET_IPSEC_CHROMIUM', '/usr/bin/chromium')
CHROMEDRIVER = os.environ.get('FLEET_IPSEC_CHROMEDRIVER', '/usr/bin/chromedriver')
# Node circles have a radius of 5: closer than this, two hosts would cover each other.
MIN_NODE_DISTANCE = 10.0


class CheckFailed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise CheckFailed(what)
    print('ok: %s' % what)


def browser(width, height):
    # Imported here so that `--help` and the unit tests' import of this file need no selenium.
    from selenium import webdriver  # pylint: disable=import-outside-toplevel
    from selenium.webdriver.chrome.service import Service  # pylint: disable=import-outside-toplevel

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            raise CheckFailed('%s is missing: apt-get install -y chromium chromium-driver' % path)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu',
                     '--hide-scrollbars', '--window-size=%d,%d' % (width, height)):
        options.add_argument(argument)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    # An explicit driver path keeps selenium's own driver manager from trying to download one.
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


PAGE_FACTS = '''
var svg = document.getElementById('fleet-map');
var edges = Array.prototype.map.call(document.querySelectorAll('#fleet-map path.edge'), function (e) {
  return [e.getAttribute('data-tunnel'), e.getAttribute('data-verdict')]; });
var rows = Array.prototype.map.call(document.querySelectorAll('#tunnels tbody tr'), function (r) {
  return [r.getAttribute('data-tunnel'), r.className]; });
var nodes = Array.prototype.map.call(document.querySelectorAll('#fleet-map g.node'), function (g) {
  var c = g.querySelector('circle');
  return [g.getAttribute('data-host'), Number(c.getAttribute('cx')), Number(c.getAttribute('cy'))]; });
var problems = Array.prototype.map.call(document.querySelectorAll('li.problem'), function (p) {
  return [p.getAttribute('data-tunnel'), p.querySelector('.next code').textContent]; });
var box = svg.viewBox.baseVal, shown = svg.getBoundingClientRect();
return {edges: edges, rows: rows, nodes: nodes, problems: problems,
        viewbox: [box.width, box.height], shown: [shown.width, shown.height],
        resources: performance.getEntriesByType('resource').map(function (r) { return r.name; }),
        title: document.title};
'''

VERDICT_COLUMN = '''
return Array.prototype.map.call(document.querySelectorAll('#tunnels tbody tr'), function (r) {
  return Number(r.cells[2].getAttribute('data-sort')); });
'''


def run(directory, screenshot=None, all_up=False, tunnels=None, width=1300, height=1500):
    with open(os.path.join(directory, 'verify.json')) as f:
        data = json.load(f)
    expected = dict((t['name'], t['verdict']) for t in data['tunnels'])
    down = sorted(t['name'] for t in data['tunnels'] if not t['up'])
    if tunnels is not None:
        check(len(expected) == tunnels, 'verify.json has the %d tunnels expected (has %d)' % (tunnels, len(expected)))
    if all_up:
        check(not down, 'every tunnel in verify.json is up (not up: %s)' % (', '.join(down) or 'none'))
    driver = browser(width, height)
    try:
        driver.get('file://' + os.path.abspath(os.path.join(directory, 'index.html')))
        facts = driver.execute_script(PAGE_FACTS)
        console = driver.get_log('browser')
        errors = [entry for entry in console if entry.get('level') == 'SEVERE']
        check(not errors, 'no console error (%d console messages: %s)' % (len(console), errors[:3]))
        check(facts['resources'] == [], 'the page fetched nothing (resources: %s)' % facts['resources'][:3])

        edges = dict(facts['edges'])
        check(len(facts['edges']) == len(expected) and edges == expected,
              'the map has one edge per tunnel with its verdict (%d edges, %d tunnels)'
              % (len(facts['edges']), len(expected)))
        rows = dict((name, cls.replace('v-', '')) for name, cls in facts['rows'])
        check(len(facts['rows']) == len(expected) and rows == expected,
              'the table has one row per tunnel with its verdict (%d rows)' % len(facts['rows']))
        ends = set(h['name'] for h in data['hosts'])
        for tunnel in data['tunnels']:
            ends.update(e['name'] for e in tunnel['ends'])
        check(sorted(n[0] for n in facts['nodes']) == sorted(ends),
              'the map has one node per host and outside end (%d nodes)' % len(facts['nodes']))
        width_box, height_box = facts['viewbox']
        inside = all(0 <= x <= width_box and 0 <= y <= height_box for _n, x, y in facts['nodes'])
        check(inside, 'every node lies inside the map (%dx%d)' % (width_box, height_box))
        closest = min([math.hypot(a[1] - b[1], a[2] - b[2]) for i, a in enumerate(facts['nodes'])
                       for b in facts['nodes'][i + 1:]] or [float('inf')])
        check(closest >= MIN_NODE_DISTANCE,
              'no two nodes overlap (closest centres %.1f apart, at least %.0f)' % (closest, MIN_NODE_DISTANCE))
        check(facts['shown'][0] > 0 and facts['shown'][1] > 0, 'the map is displayed (%dx%d px)' % tuple(facts['shown']))
        problems = dict(facts['problems'])
        check(sorted(problems) == down and all(problems.values()),
              'every tunnel that is not up is listed with a next step (%d)' % len(down))

        header = driver.find_element('css selector', '#tunnels th[data-col="2"]')
        header.click()
        ascending = driver.execute_script(VERDICT_COLUMN)
        header.click()
        descending = driver.execute_script(VERDICT_COLUMN)
        check(ascending == sorted(ascending) and descending == sorted(ascending, reverse=True),
              'clicking the verdict header sorts the table, and again reverses it')
        check(not [e for e in driver.get_log('browser') if e.get('level') == 'SEVERE'],
              'no console error after sorting')
        if screenshot:
            driver.execute_script('window.scrollTo(0, 0)')
            parent = os.path.dirname(os.path.abspath(screenshot))
            if not os.path.isdir(parent):
                os.makedirs(parent)
            check(driver.save_screenshot(screenshot), 'screenshot written to %s' % screenshot)
    finally:
        driver.quit()
    print('%s: %d tunnels (%d edges, %d rows), %d nodes, %d not up, no console error'
          % (os.path.join(directory, 'index.html'), len(expected), len(facts['edges']), len(facts['rows']),
             len(facts['nodes']), len(down)))
    return facts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('directory', help='the ipsec_report_dir verify.yml wrote')
    parser.add_argument('--screenshot', help='write a PNG of the page here')
    parser.add_argument('--all-up', action='store_true', help='fail unless every tunnel is up')
    parser.add_argument('--tunnels', type=int, help='fail unless verify.json has this many tunnels')
    parser.add_argument('--size', default='1300x1500', help='browser window, WIDTHxHEIGHT (default 1300x1500)')
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.split('x'))
    try:
        run(args.directory, args.screenshot, args.all_up, args.tunnels, width, height)
    except CheckFailed as exc:
        print('FAILED: %s' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
