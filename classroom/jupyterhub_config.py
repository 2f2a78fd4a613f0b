# JupyterHub for a room of learners on one server (issue 13). Read top to bottom.
#
# Started by `make classroom LEARNERS=N` (classroom/start.py), which creates the Unix accounts,
# their homes and passwords, picks the ports and passes everything below through CLASSROOM_*
# environment variables. Run by hand only through start.py: it is what stops every process.
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 -- JupyterHub's config loader provides get_config

REPO = Path(os.environ['CLASSROOM_REPO'])
STATE = Path(os.environ['CLASSROOM_STATE'])  # root-only: database, cookie secret, PID files
VENV = Path(sys.executable).parent.parent  # the project's .venv: the pinned stack, for everyone
# The Python learners run: the .venv's, or (when learners cannot reach that interpreter) a
# system Python of the same version whose only package path is the .venv's (start.py).
PYTHON = Path(os.environ['CLASSROOM_PYTHON'])
LEARNERS = os.environ['CLASSROOM_LEARNERS'].split(',')
INSTRUCTOR = os.environ['CLASSROOM_INSTRUCTOR']
PROGRESS = os.environ['CLASSROOM_PROGRESS']  # shared folder of issue 14's progress records

# --- Network: everything on 127.0.0.1 ------------------------------------------------------
# Learners reach the proxy's public port; the hub and the proxy's API listen on ports start.py
# found free, so two rooms (a test and a real one) can run side by side.
c.JupyterHub.ip = '127.0.0.1'
c.JupyterHub.port = int(os.environ['CLASSROOM_PORT'])
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = int(os.environ['CLASSROOM_HUB_PORT'])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['CLASSROOM_PROXY_API_PORT']}"
# The pinned configurable-http-proxy from classroom/node_modules (npm ci), never a global one.
c.ConfigurableHTTPProxy.command = [str(REPO / 'classroom/node_modules/.bin/configurable-http-proxy')]
# The proxy writes its PID here; on start the hub stops a proxy left by a killed run.
c.ConfigurableHTTPProxy.pid_file = str(STATE / 'proxy.pid')
c.JupyterHub.pid_file = str(STATE / 'hub.pid')
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / 'cookie_secret')
# On Ctrl-C the hub stops every learner's server and the proxy (start.py then checks by PID).
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# --- Who logs in ---------------------------------------------------------------------------
# PAM: each learner logs in as their own Unix account with a password start.py generated and
# printed (one per learner, never a fixed default). Not SharedPasswordAuthenticator: with one
# shared password any learner could log in as any other learner, which would undo the Unix
# isolation below. The instructor is a hub admin (sees every server, the admin page).
c.JupyterHub.authenticator_class = 'pam'
c.Authenticator.allowed_users = set(LEARNERS)
c.Authenticator.admin_users = {INSTRUCTOR}
c.PAMAuthenticator.open_sessions = False  # no login sessions (utmp) for notebook servers

# --- What each learner gets ----------------------------------------------------------------
# LocalProcessSpawner: the hub (root) starts each server as the learner's own Unix user, in
# their home (0700), so one learner can neither read nor write another's files.
c.JupyterHub.spawner_class = 'localprocess'
c.Spawner.cmd = [str(PYTHON), '-m', 'jupyterhub.singleuser']
c.Spawner.notebook_dir = '~/notebooks'  # the learner's own copy of the notebooks
c.Spawner.default_url = '/lab/tree/11_workshop_exercises.ipynb'
# A room of JAX kernels starting at once on a small machine is slow: be patient.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120


def _home(spawner):
    import pwd

    return pwd.getpwnam(spawner.user.name).pw_dir


c.Spawner.environment = {
    # Kernels run the same Python (the default kernelspec is sys.executable) ...
    'PATH': f'{PYTHON.parent}:/usr/local/bin:/usr/bin:/bin',
    # ... and JupyterLab's pages, extensions and server config come from the .venv.
    'JUPYTER_PATH': f'{VENV}/share/jupyter',
    'JUPYTERLAB_DIR': f'{VENV}/share/jupyter/lab',
    'JUPYTER_CONFIG_PATH': f'{VENV}/etc/jupyter',
    # Every checkpoint a learner writes goes under their own home.
    'CKPT_LAB_WORKDIR': lambda spawner: f'{_home(spawner)}/ckpt-work',
    # 8 host devices, as in the notebooks (cw.use_host_devices(8) sets the same).
    'XLA_FLAGS': '--xla_force_host_platform_device_count=8',
    # Issue 14: each check appends to PROGRESS/<learner>.jsonl; the instructor's board reads it.
    'CKPT_LAB_PROGRESS': PROGRESS,
    'CKPT_LAB_LEARNER': lambda spawner: spawner.user.name,
}

# --- Forgotten servers ---------------------------------------------------------------------
# The maintained jupyterhub-idle-culler stops a server nobody has used for CLASSROOM_CULL_IDLE
# seconds (default one hour), so a learner who walked away does not hold memory all day.
c.JupyterHub.load_roles = [{
    'name': 'idle-culler',
    'scopes': ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'],
    'services': ['idle-culler'],
}]
c.JupyterHub.services = [{
    'name': 'idle-culler',
    'command': [sys.executable, '-m', 'jupyterhub_idle_culler',
                f"--timeout={os.environ.get('CLASSROOM_CULL_IDLE', '3600')}", '--cull-every=60'],
}]
