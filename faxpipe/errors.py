"""The one error family of faxpipe.

Every error carries a UAPI error code (``code``) and a reason a person can act on; the HTTP
layer and the CLI map these onto responses and exit codes in one place each.
"""


class FaxpipeError(Exception):
    """Base of every error faxpipe raises on purpose."""

    code = "internal_server_error"

    def __init__(self, reason: str, *, code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


class DocumentError(FaxpipeError):
    """A file the user gave cannot be turned into fax pages."""

    code = "fx_file_invalid"


class CodecError(FaxpipeError):
    """A G3/G4 stream or page geometry the codec refuses (T.4 / T.6)."""

    code = "fx_file_invalid"


class ProtocolError(FaxpipeError):
    """The far end broke T.30, or a frame was malformed."""

    code = "internal_server_error"


class ModemError(FaxpipeError):
    """The modem answered something unexpected, or not at all."""

    code = "internal_server_error"
