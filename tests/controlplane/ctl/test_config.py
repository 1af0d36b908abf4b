"""`superctl config` and `completion`: kubeconfig files read and written as kubectl does."""

import subprocess

import yaml
from clientkit import superctl_path


def run(*args, kubeconfig, home):
    return subprocess.run([superctl_path(), *args], capture_output=True, text=True,
                          env={"KUBECONFIG": str(kubeconfig), "HOME": str(home),
                               "PATH": "/usr/bin:/bin"})


def make_config(path):
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "one",
        "clusters": [{"name": "c1", "cluster": {"server": "https://127.0.0.1:1",
                                                "certificate-authority-data": "Q0E="}}],
        "users": [{"name": "u1", "user": {"token": "secret-token"}}],
        "contexts": [{"name": "one", "context": {"cluster": "c1", "user": "u1"}},
                     {"name": "two", "context": {"cluster": "c1", "user": "u1",
                                                 "namespace": "team"}}]}))
    return path


def test_view_redacts_secrets_and_matches_kubectl(tmp_path):
    config = make_config(tmp_path / "config")
    ours = run("config", "view", kubeconfig=config, home=tmp_path)
    theirs = subprocess.run(["kubectl", "config", "view"], capture_output=True, text=True,
                            env={"KUBECONFIG": str(config), "HOME": str(tmp_path)})
    assert ours.stdout == theirs.stdout
    assert "secret-token" not in ours.stdout and "REDACTED" in ours.stdout
    raw = run("config", "view", "--raw", kubeconfig=config, home=tmp_path)
    assert "secret-token" in raw.stdout


def test_use_context_get_contexts_and_current_context(tmp_path):
    config = make_config(tmp_path / "config")
    assert run("config", "current-context", kubeconfig=config, home=tmp_path).stdout == "one\n"
    assert run("config", "use-context", "two", kubeconfig=config, home=tmp_path).stdout == \
        'Switched to context "two".\n'
    ours = run("config", "get-contexts", kubeconfig=config, home=tmp_path)
    theirs = subprocess.run(["kubectl", "config", "get-contexts"], capture_output=True,
                            text=True, env={"KUBECONFIG": str(config), "HOME": str(tmp_path)})
    assert ours.stdout == theirs.stdout
    assert "*         two" in ours.stdout
    missing = run("config", "use-context", "nope", kubeconfig=config, home=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr == 'error: no context exists with the name: "nope"\n'


def test_set_context_current_namespace(tmp_path):
    config = make_config(tmp_path / "config")
    result = run("config", "set-context", "--current", "--namespace=prod", kubeconfig=config,
                 home=tmp_path)
    assert result.stdout == 'Context "one" modified.\n'
    saved = yaml.safe_load(config.read_text())
    assert saved["contexts"][0]["context"]["namespace"] == "prod"


def test_completion_scripts_and_candidates(tmp_path):
    config = make_config(tmp_path / "config")
    bash = run("completion", "bash", kubeconfig=config, home=tmp_path).stdout
    assert "complete -o default -F _superctl superctl" in bash
    assert subprocess.run(["bash", "-n"], input=bash, text=True).returncode == 0
    assert "compdef _superctl superctl" in run("completion", "zsh", kubeconfig=config,
                                               home=tmp_path).stdout
    verbs = run("__complete", "", kubeconfig=config, home=tmp_path).stdout.split()
    assert {"get", "apply", "rollout", "exec"} <= set(verbs)
    types = run("__complete", "get", "", kubeconfig=config, home=tmp_path).stdout.split()
    assert {"pods", "po", "deployments", "deploy"} <= set(types)
    contexts = run("__complete", "config", "use-context", "", kubeconfig=config,
                   home=tmp_path).stdout.split()
    assert contexts == ["one", "two"]
    # The server in this kubeconfig is unreachable: fewer candidates, no error.
    names = run("__complete", "get", "pods", "", kubeconfig=config, home=tmp_path)
    assert names.returncode == 0 and names.stdout == ""


def test_usage_errors_are_one_line_and_exit_1(tmp_path):
    config = make_config(tmp_path / "config")
    result = run("get", "--no-such-flag", kubeconfig=config, home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: unrecognized arguments: --no-such-flag")
    assert "Traceback" not in result.stderr
