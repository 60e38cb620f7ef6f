from typer.testing import CliRunner

from vl4gaze.cli import app

COMMANDS = ["synth", "inspect", "annotate", "build", "export", "eval", "score", "train",
            "report", "review", "demo"]


def test_help_lists_every_command():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


def test_every_command_has_help():
    for command in COMMANDS:
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0, (command, result.output)
