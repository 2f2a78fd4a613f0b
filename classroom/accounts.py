"""Unix accounts, homes and passwords for a room of learners (run as root).

Every account this module creates carries the GECOS mark `MARK`; an existing account without
it is never touched (the room must not take over a real person's account). Running it again
reuses the accounts and never overwrites a notebook a learner changed.

>>> learner_names(3)
['learner01', 'learner02', 'learner03']
"""

import grp
import os
import pwd
import secrets
import shutil
import subprocess
from pathlib import Path

MARK = 'orbax-migration-lab classroom'
STAFF_GROUP = 'ckptlab-staff'  # the instructor's group: reads the progress records


class AccountError(Exception):
    """An account or folder the room needs cannot be used as it is."""


def learner_names(n, prefix='learner'):
    """`n` learner names, zero-padded so they sort: learner01 ... learner20.

    >>> learner_names(2, prefix='cltest')
    ['cltest01', 'cltest02']
    """
    return [f'{prefix}{i:02d}' for i in range(1, n + 1)]


def ensure_group(name):
    """Create the Unix group `name` unless it exists; return its gid."""
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        subprocess.run(['groupadd', name], check=True, capture_output=True)
        return grp.getgrnam(name).gr_gid


def ensure_account(name, *, groups=()):
    """Create (or reuse) the room's account `name`, a member of `groups`; return its pwd entry."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        cmd = ['useradd', '--create-home', '--shell', '/bin/bash', '--comment', MARK]
        if groups:
            cmd += ['--groups', ','.join(groups)]
        subprocess.run(cmd + [name], check=True, capture_output=True)
        return pwd.getpwnam(name)
    if entry.pw_gecos.split(',')[0] != MARK:
        raise AccountError(f'user {name} exists but was not made by the classroom; '
                           'choose another PREFIX')
    if groups:
        subprocess.run(['usermod', '--append', '--groups', ','.join(groups), name],
                       check=True, capture_output=True)
    return entry


def remove_account(name):
    """Delete the room's account `name` and its home (never an account the room did not make).

    Returns True when an account was removed.
    """
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return False
    if entry.pw_gecos.split(',')[0] != MARK:
        raise AccountError(f'user {name} was not made by the classroom; not removing it')
    subprocess.run(['userdel', '--remove', name], check=True, capture_output=True)
    return True


def prepare_home(entry, notebooks):
    """Make `entry`'s home private (0700) with its own copy of `notebooks` and a ckpt-work folder.

    A notebook already in the home is kept as it is: the learner's changes survive a restart.
    Returns the learner's CKPT_LAB_WORKDIR.
    """
    home = Path(entry.pw_dir)
    home.mkdir(exist_ok=True)
    os.chmod(home, 0o700)  # Debian's useradd leaves homes world-readable (0755)
    own = home / 'notebooks'
    work = home / 'ckpt-work'
    for folder in (own, work):
        folder.mkdir(exist_ok=True)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    for src in sorted(Path(notebooks).glob('*.ipynb')):
        dst = own / src.name
        if not dst.exists():
            shutil.copyfile(src, dst)
            os.chown(dst, entry.pw_uid, entry.pw_gid)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    return work


def prepare_progress_dir(path, *, owner, group=STAFF_GROUP):
    """The shared folder of progress records (issue 14), mode 3733.

    setgid: new files get `group`, which the instructor reads; sticky: nobody deletes another's
    file; write+execute for all but no read: learners create their file but cannot list others.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid)
    os.chmod(path, 0o3733)
    return path


def new_password():
    """A fresh password to read aloud or hand out on a slip: 12 letters and digits."""
    alphabet = 'abcdefghjkmnpqrstuvwxyz23456789'  # no l/1, o/0 to misread
    return ''.join(secrets.choice(alphabet) for _ in range(12))


def set_passwords(passwords):
    """Set each account's password (PAM logs them in with it): {name: password}."""
    lines = ''.join(f'{name}:{pw}\n' for name, pw in passwords.items())
    subprocess.run(['chpasswd'], input=lines, text=True, check=True, capture_output=True)
