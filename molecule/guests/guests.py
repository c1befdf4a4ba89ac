# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test-guest driver: booting throwaway guests for the molecule scenarios and the tests.

Two backends boot the guests, each a script run with python3 (ansible-test allows no `python3`
shebang):

    lab.py    real-kernel Linux guests under user-mode-linux or qemu on a host bridge: the `lab` scenario,
              scripts/lab and tests/lab
    qemu.py   one or two qemu VMs from an image profile: the `freebsd` scenario and tests/vmpair

This module is everything they share, so that the two cannot drift apart where nothing forces them
to:

- the command line: `up`, `down` and `status` with `--state DIR`, `up --timeout` and
  `--keep-on-failure`, SIGTERM treated as Ctrl-C, a failure reported in one line with status 1;
- the state directory: the run's ed25519 key, an ssh_config with one alias per guest, an Ansible
  inventory, the backend's JSON record, and removing exactly those again;
- waiting for every guest at once until it answers over SSH, optionally twice from the same boot,
  and tearing a half-booted run down;
- finding and stopping processes, and downloads checked against a SHA-256.

A backend subclasses Backend, overrides the hooks it needs, and ends with
`sys.exit(guests.main(BACKEND, __doc__))`. Stdlib only.
"""

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

# What `up` writes into every state directory, besides the backend's record and per-guest files.
ACCESS_FILES = ["id_ed25519", "id_ed25519.pub", "ssh_config", "known_hosts", "inventory.yml"]


class DriverError(Exception):
    """A failure the command reports in one message (exit status 1), not as a traceback."""


def say(who, msg):
    print(f"{who}: {msg}", file=sys.stderr, flush=True)


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, text=True, **kw)


def quiet(cmd, timeout=None):
    """Run a command whose failure is expected (probes, cleanup); return True on success."""
    try:
        return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              check=False, timeout=timeout).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def tail(path, lines=25):
    """The end of a log file, indented, for an error message; empty if there is none."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "".join(f"  | {line}\n" for line in text.splitlines()[-lines:])


# ---------------------------------------------------------------- processes

def processes():
    """(pid, session id, argv) of every live process on the host.

    Guests are found by their command lines, never by pid files: a pid file outlives a crash, and
    its pid may belong to something else by the time `down` reads it."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()  # state ppid pgrp sid
        except OSError:
            continue
        if fields[0] != "Z":
            yield int(proc.name), int(fields[3]), argv


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill(pids, sig=signal.SIGKILL):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop(pids, grace=5.0):
    """SIGTERM, then SIGKILL what is left after `grace` seconds; an error if anything survives."""
    pids = list(pids)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        kill(pids, sig)
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = [pid for pid in pids if alive(pid)]
        if not pids:
            return
    raise DriverError(f"processes survived SIGKILL: {pids}")


# ---------------------------------------------------------------- downloads

def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url, dest, sha256, who):
    """Download url to dest, hashing on the way; a file with another SHA-256 is deleted and refused.

    Network errors are OSErrors (URLError is one), for the caller to word."""
    digest = hashlib.sha256()
    started = time.monotonic()
    done = 0
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:  # noqa: S310
        total = int(response.headers.get("Content-Length") or 0)
        shown = -1
        while True:
            chunk = response.read(1 << 20)
            if not chunk:
                break
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            tenth = done * 10 // total if total else -1
            if tenth != shown and tenth >= 0:  # a large image takes minutes: show that it moves
                shown = tenth
                say(who, f"downloading {url.rsplit('/', 1)[-1]}: {done >> 20} of {total >> 20} MiB")
    got = digest.hexdigest()
    if got != sha256:
        Path(dest).unlink()
        raise DriverError(f"{url}: SHA-256 {got}, expected {sha256}: refusing it")
    say(who, f"downloaded {url} ({done >> 20} MiB in {time.monotonic() - started:.0f} s), SHA-256 verified")


# ---------------------------------------------------------------- the state directory

def new_key(state, comment):
    """A fresh ed25519 key pair for this run in the state directory; return its public key line."""
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(state / "id_ed25519")])
    return (state / "id_ed25519.pub").read_text().strip()


def write_ssh_config(state, hosts, user, options, written_by):
    """ssh_config for `ssh -F`: `hosts` are (aliases, HostName, Port or None); `options` (name:
    value) go into the `Host *` block after the run's key and known_hosts."""
    lines = [f"# written by {written_by} up, removed by {written_by} down"]
    for aliases, hostname, port in hosts:
        lines += [f"Host {' '.join(aliases)}", f"  HostName {hostname}"]
        if port:
            lines.append(f"  Port {port}")
    options = {
        "User": user,
        "IdentityFile": state / "id_ed25519",
        "IdentitiesOnly": "yes",
        "UserKnownHostsFile": state / "known_hosts",
        "GlobalKnownHostsFile": "/dev/null",
        **options,
        "ServerAliveInterval": 10,
        "ConnectTimeout": 10,
        "LogLevel": "ERROR",
    }
    lines += ["Host *"] + [f"  {name} {value}" for name, value in options.items()]
    (state / "ssh_config").write_text("\n".join(lines) + "\n")


def write_inventory(state, group, hosts, group_vars, written_by):
    """inventory.yml with one group of all guests: `hosts` is {name: {var: value}}."""
    q = json.dumps  # a JSON scalar is a valid YAML scalar, with the same value
    lines = [f"# written by {written_by} up, removed by {written_by} down",
             "all:", "  children:", f"    {group}:", "      hosts:"]
    for name, host_vars in hosts.items():
        lines.append(f"        {name}:")
        lines += [f"          {var}: {q(value)}" for var, value in host_vars.items()]
    lines.append("      vars:")
    lines += [f"        {var}: {q(value)}" for var, value in group_vars.items()]
    (state / "inventory.yml").write_text("\n".join(lines) + "\n")


def ssh(state, name, command, timeout=30):
    """Run a command in a guest through the state's ssh_config; (returncode, stdout). Never raises
    for a guest that is not up yet, and never starts a connection master that would outlive it."""
    argv = ["ssh", "-F", str(state / "ssh_config"), "-o", "ControlMaster=no", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=5", name, command]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 255, ""
    return r.returncode, r.stdout


# ---------------------------------------------------------------- backends

class Backend:
    """One way of booting guests. The driver's commands are methods of this class; a backend sets
    the attributes below, overrides the hooks it needs, and adds its own commands and `up` options
    in add_commands. A guest ("machine") is a dict with at least `name`; `up` adds `pid` and
    `ready_seconds` and keeps the list in the backend's JSON record."""

    name = "guests"  # the log prefix
    script = ""  # how the backend is named in the files it writes
    record = ""  # its JSON record in the state directory (the scenarios' create.yml read it)
    machines = ""  # the record's key for the list of guests
    per_guest_files = ()  # globs of what `up` writes into the state directory per guest
    key_comment = "fleet-ipsec"
    group = ""  # the inventory group of all guests
    program = ""  # what runs a guest, for messages
    host_key_checking = "accept-new"
    ssh_options = {}  # more options for every host in ssh_config
    poll = 0.2  # seconds between two SSH probes of a guest that does not answer yet
    timeout = 120.0  # `up --timeout`
    timeout_default = "120 s"  # how --help says the default
    needs_root = ""  # why, if it does
    status_finds_state = False  # whether `status` works without --state
    help = {}  # help of the up, down and status commands

    def log(self, msg):
        say(self.name, msg)

    # -------------------------------------------------------- hooks

    def stop_guests(self, state):
        """Stop every guest of the state directory."""
        raise NotImplementedError

    def claim(self, state):
        """Make the machine ready for a run in `state`, after the teardown of an earlier one."""

    def ssh_host(self, machine):
        """(aliases, HostName, Port or None) of the guest in ssh_config."""
        raise NotImplementedError

    def host_vars(self, machine):
        raise NotImplementedError

    def group_vars(self, state, info):
        """Inventory variables of all guests beyond user, key, interpreter and ssh_config."""
        return {}

    def before_boot(self, state, machines, info, pubkey):
        """What the guests need before the first boots (network, disks); not part of boot time."""

    def boot(self, state, machine, info, pubkey):
        """Start one guest; return its subprocess.Popen."""
        raise NotImplementedError

    def reachable(self, machine):
        """A cheap check that may spare an SSH attempt while the guest cannot answer yet."""
        return True

    def logs(self, state, machine):
        """The guest's log files, whose end an error message shows."""
        return [state / f"{machine['name']}.console.log"]

    def describe(self, machine):
        """Where the guest is, for the lines `up` and `status` print."""
        raise NotImplementedError

    def running(self, state, info):
        """{name: pid} of the guests in the record that are running."""
        raise NotImplementedError

    def summary(self, state, info):
        """The heading of `status` for a state directory with a record."""
        return f"{state}"

    def not_up(self, state):
        """What `status` says when there is no record (and what is left running, if anything)."""
        return f"nothing up in {state}"

    def current_state(self):
        """The state directory `status` shows without --state (if status_finds_state)."""
        return None

    def add_commands(self, sub, up):
        """Add the backend's own commands to `sub` and its own options to the `up` parser."""

    def cmd_up(self, args):
        raise NotImplementedError

    # -------------------------------------------------------- the state directory

    def read_record(self, state):
        try:
            return json.loads((state / self.record).read_text())
        except (OSError, ValueError):
            return None

    def write_record(self, state, info):
        (state / self.record).write_text(json.dumps(info, indent=1) + "\n")

    def clean(self, state):
        """Remove what `up` wrote into a state directory, and the directory if that empties it."""
        if not state.is_dir():
            return
        for name in [self.record, *ACCESS_FILES]:
            (state / name).unlink(missing_ok=True)
        for pattern in self.per_guest_files:
            for path in state.glob(pattern):
                path.unlink()
        try:
            state.rmdir()
        except OSError:
            pass

    def teardown(self, state):
        self.stop_guests(state)
        self.clean(state)

    def write_access(self, state, machines, info):
        """ssh_config and inventory.yml; `info` may name the guests' user and Python."""
        user = info.get("user") or "root"
        write_ssh_config(state, [self.ssh_host(m) for m in machines], user,
                         {"StrictHostKeyChecking": self.host_key_checking, **self.ssh_options}, self.script)
        group_vars = {"ansible_user": user}
        if info.get("python"):
            group_vars["ansible_python_interpreter"] = info["python"]
        group_vars.update({
            "ansible_ssh_private_key_file": str(state / "id_ed25519"),
            "ansible_ssh_common_args": f"-F {state / 'ssh_config'}",
            **self.group_vars(state, info),
        })
        write_inventory(state, self.group, {m["name"]: self.host_vars(m) for m in machines}, group_vars,
                        self.script)

    # -------------------------------------------------------- waiting

    def wait_ready(self, state, machine, proc, started, timeout, ready=("true", 0)):
        """Wait until the guest answers the `ready` command over SSH, then again `settle` seconds
        later with the same output (so a first-boot reboot is waited out, when the command prints
        something of the running boot); return the seconds since `started`."""
        command, settle = ready[0], float(ready[1])
        first = None  # (when, output) of the first answer of the current boot
        while time.monotonic() - started < timeout:
            if proc.poll() is not None:
                raise DriverError(f"{machine['name']}: {self.program} exited with {proc.returncode}\n"
                                  + "".join(tail(log) for log in self.logs(state, machine)))
            rc, out = ssh(state, machine["name"], command) if self.reachable(machine) else (255, "")
            now = time.monotonic()
            if rc != 0:
                first = None
            elif first is None or out != first[1]:
                first = (now, out)
            if first and now - first[0] >= settle:
                return now - started
            time.sleep(self.poll if first is None else min(self.poll, settle))
        raise DriverError(f"{machine['name']}: no SSH after {timeout:.0f} s\n"
                          + tail(self.logs(state, machine)[-1]))

    def wait_all(self, state, machines, procs, started, timeout, ready=("true", 0)):
        """wait_ready for all guests at once; daemon threads, so Ctrl-C is not held up."""
        results = {}

        def wait(machine):
            try:
                results[machine["name"]] = self.wait_ready(state, machine, procs[machine["name"]], started,
                                                           timeout, ready)
            except DriverError as e:
                results[machine["name"]] = e

        threads = [threading.Thread(target=wait, args=(m,), daemon=True) for m in machines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        errors = [str(r) for r in results.values() if isinstance(r, DriverError)]
        if errors:
            raise DriverError("\n".join(errors))
        return results

    # -------------------------------------------------------- commands

    def up(self, state, machines, info, timeout, keep_on_failure, ready=("true", 0)):
        """Boot the planned guests into the state directory and wait until each is ready.

        `info` is the backend's record, listing `machines` (the same list) under self.machines."""
        self.teardown(state)  # leftovers of an earlier (crashed) run
        state.mkdir(parents=True, exist_ok=True)
        self.claim(state)
        pubkey = new_key(state, self.key_comment)
        self.write_access(state, machines, info)
        try:
            self.before_boot(state, machines, info, pubkey)
            started = time.monotonic()
            procs = {}
            for m in machines:
                procs[m["name"]] = self.boot(state, m, info, pubkey)
                m["pid"] = procs[m["name"]].pid
            self.write_record(state, info)
            ready_after = self.wait_all(state, machines, procs, started, timeout, ready)
        except BaseException:
            if not keep_on_failure:
                self.log("up failed: tearing down (use --keep-on-failure to look around)")
                for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not leave half a run
                    signal.signal(sig, signal.SIG_IGN)
                self.teardown(state)
            raise
        info["boot_seconds"] = round(time.monotonic() - started, 1)
        for m in machines:
            m["ready_seconds"] = round(ready_after[m["name"]], 1)
            self.log(f"{m['name']}: {self.describe(m)}, ssh ready after {ready_after[m['name']]:.1f} s")
        self.write_record(state, info)
        self.log(f"{len(machines)} guest(s) up in {info['boot_seconds']} s; ssh -F {state / 'ssh_config'} "
                 f"{machines[0]['name']}; inventory {state / 'inventory.yml'}")
        return 0

    def down(self, state):
        self.teardown(state)
        self.log(f"down: the guests of {state} stopped, their files removed")
        return 0

    def status(self, state):
        info = self.read_record(state) if state else None
        if not info:
            print(f"{self.name}: {self.not_up(state)}")
            return 1
        print(f"{self.name}: {self.summary(state, info)}")
        ok = True
        running = self.running(state, info)
        for m in info[self.machines]:
            pid = running.get(m["name"])
            reachable = bool(pid) and ssh(state, m["name"], "true", timeout=15)[0] == 0
            ok = ok and reachable
            print(f"  {m['name']:<10} {self.describe(m)}, {f'running pid {pid}' if pid else 'stopped'}, "
                  f"ssh {'ok' if reachable else 'no'}")
        return 0 if ok else 1


def interrupted(signum, frame):
    raise KeyboardInterrupt


def state_dir(path):
    return Path(path).resolve() if path else None


def parser(backend, doc):
    """The backend's command line: up, down, status, and the commands it adds."""
    p = argparse.ArgumentParser(description=doc.split("\n\n", maxsplit=1)[0])
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help=backend.help.get("up"))
    up.add_argument("--state", required=True, help="directory for the run's key, disks, logs, inventory")
    up.add_argument("--timeout", type=float, default=backend.timeout,
                    help=f"seconds to wait for SSH (default: {backend.timeout_default})")
    up.add_argument("--keep-on-failure", action="store_true", help="do not tear down a failed up")
    up.set_defaults(func=backend.cmd_up)
    down = sub.add_parser("down", help=backend.help.get("down"))
    down.add_argument("--state", required=True)
    down.set_defaults(func=lambda args: backend.down(state_dir(args.state)))
    status = sub.add_parser("status", help=backend.help.get("status"))
    if backend.status_finds_state:
        status.add_argument("--state", help="default: the state directory of the run that is up")
    else:
        status.add_argument("--state", required=True)
    status.set_defaults(func=lambda args: backend.status(state_dir(args.state) or backend.current_state()))
    backend.add_commands(sub, up)
    return p


def main(backend, doc, argv=None):
    p = parser(backend, doc)
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, interrupted)  # a CI timeout: clean up as for Ctrl-C
    if backend.needs_root and os.geteuid() != 0:
        p.error(f"needs root ({backend.needs_root})")
    try:
        return args.func(args)
    except (DriverError, subprocess.CalledProcessError, OSError) as e:
        backend.log(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        backend.log("interrupted")
        return 130
