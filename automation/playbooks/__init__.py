"""Response playbooks: schema (`schema`), conditions, template context, actions and the runner.

Public API: `validate_playbook`, `PlaybookError`, `run_playbook`, `save_playbook`,
`export_playbook`, `playbooks_for`.
"""

from automation.playbooks.files import export_playbook, playbooks_for, save_playbook
from automation.playbooks.runner import run_playbook
from automation.playbooks.schema import PlaybookError, validate_playbook

__all__ = [
    "PlaybookError",
    "export_playbook",
    "playbooks_for",
    "run_playbook",
    "save_playbook",
    "validate_playbook",
]
