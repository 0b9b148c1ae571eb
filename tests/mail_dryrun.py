"""`git send-email --dry-run` over a written series: what the recipients' mailers would see.

Test code (the series tests ask send-email itself whether it accepts the files);
kfuncfix never runs send-email.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kfuncfix import gitrun
from kfuncfix.errors import KfuncfixError
from kfuncfix.outputs.checkseries import patch_files
from kfuncfix.outputs.gitseries import Identity, open_repo


@dataclass
class DryRunMail:
    """One mail as git send-email --dry-run says it would send it."""

    envelope_from: str
    envelope_to: list[str]
    headers: dict[str, str]  # unfolded values, keyed by lower-case name


def send_email_dry_run(
    repo_path: Path | str,
    location: Path | str | Sequence[Path | str],
    sender: Identity | str,
    *,
    smtp_server: str = "127.0.0.1",
) -> list[DryRunMail]:
    """Run `git send-email --dry-run` over the series; nothing is sent anywhere.

    send-email exits 0 even when it skips a mail (a bad address, say), so every
    file must come back with a "Dry-OK" report.
    """
    files = patch_files(location)
    repo = open_repo(repo_path)
    if isinstance(sender, str):
        sender = Identity.parse(sender)
    # --no-to/--no-cc/--no-bcc drop sendemail.* recipients from config: only the files count.
    command = ["send-email", "--dry-run", "--confirm=never", "--8bit-encoding=UTF-8",
               f"--smtp-server={smtp_server}", f"--from={sender}", "--no-to", "--no-cc",
               "--no-bcc", *map(str, files)]
    done = repo.run(*command, check=False)
    status = done.returncode
    out, err = gitrun.stdout_str(done.stdout), gitrun.stdout_str(done.stderr)
    if "Mail::Address" in err:
        raise KfuncfixError("git send-email needs perl's Mail::Address (libmailtools-perl)")
    mails = _parse_dry_run(out)
    if status != 0 or len(mails) != len(files):
        raise KfuncfixError(
            f"git send-email accepted {len(mails)} of {len(files)} mails: {err.strip()}"
        )
    return mails


def _parse_dry_run(output: str) -> list[DryRunMail]:
    mails = []
    for block in output.split("Dry-OK. Log says:\n")[1:]:
        head = block.split("\n\n", 1)[0].splitlines()
        mail = DryRunMail("", [], {})
        name = ""
        for line in head:
            if line.startswith("MAIL FROM:"):
                mail.envelope_from = line.removeprefix("MAIL FROM:").strip("<>")
            elif line.startswith("RCPT TO:"):
                mail.envelope_to.append(line.removeprefix("RCPT TO:").strip("<>"))
            elif line[:1] in (" ", "\t") and name:
                mail.headers[name] += " " + line.strip()
            elif ":" in line:
                name, value = line.split(":", 1)
                name = name.lower()
                mail.headers[name] = value.strip()
        mails.append(mail)
    return mails
