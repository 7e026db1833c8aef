"""Claude on Amazon Bedrock and Google Vertex AI, through the anthropic SDK's platform clients.

Both speak the Messages API with the model in the URL (``/model/<id>/invoke`` on Bedrock,
``…/models/<id>:rawPredict`` on Vertex), so requests and answers are AnthropicProvider's; only
the client and its credentials differ. Each needs an optional extra:
``pip install 'promptcheck[bedrock]'`` (boto3 signs the calls) or ``'promptcheck[vertex]'``
(google-auth finds an access token; not needed when ``VERTEX_API_KEY`` holds one).

* Bedrock: AWS credentials as boto3 finds them (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
  ``AWS_PROFILE``, …) or a Bedrock API key (``AWS_BEARER_TOKEN_BEDROCK``); region from config,
  ``AWS_BEDROCK_REGION`` (promptfoo), ``AWS_REGION`` or ``AWS_DEFAULT_REGION``.
* Vertex: project from config, ``ANTHROPIC_VERTEX_PROJECT_ID``, ``VERTEX_PROJECT_ID`` (promptfoo)
  or ``GOOGLE_CLOUD_PROJECT``; region from config, ``CLOUD_ML_REGION`` or ``VERTEX_REGION``
  (promptfoo), else promptfoo's default ``us-central1``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from .anthropic_provider import DEFAULT_MAX_TOKENS, AnthropicProvider
from .azure_provider import first_env
from .base import ProviderConfigError
from .sdk_common import SDKProvider

VERTEX_DEFAULT_REGION = "us-central1"  # promptfoo's default


def require_extra(label: str, extra: str, modules: tuple[str, ...]) -> None:
    """A one-line error naming the pip command when an optional extra is not installed."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            raise ProviderConfigError(
                f"{label}: Claude on {extra.capitalize()} needs the '{extra}' extra ({module} is not installed): "
                f"pip install 'promptcheck[{extra}]'"
            ) from None


class _PlatformProvider(AnthropicProvider):
    """AnthropicProvider's calls and parsing; the subclass makes the client and checks credentials."""

    def __init__(
        self,
        *,
        label: str,
        base_url: str | None,
        timeout_s: float,
        max_retries: int,
        price_overrides: Mapping[str, Any] | None,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        # Not AnthropicProvider.__init__: these platforms take no ANTHROPIC_API_KEY.
        SDKProvider.__init__(self, label=label, timeout_s=timeout_s, max_retries=max_retries, price_overrides=price_overrides)
        # None: the SDK's own endpoint for the region (AnthropicProvider.base_url is always a URL).
        self.platform_base_url = base_url
        self.default_max_tokens = default_max_tokens


class BedrockProvider(_PlatformProvider):
    """``complete()`` via ``anthropic.AnthropicBedrock(...).messages.create``."""

    def __init__(self, *, label: str = "bedrock", region: str | None = None, base_url: str | None = None, **kwargs: Any) -> None:
        require_extra(label, "bedrock", ("boto3", "botocore"))
        super().__init__(label=label, base_url=base_url or os.environ.get("ANTHROPIC_BEDROCK_BASE_URL"), **kwargs)
        self.region = region or first_env(("AWS_BEDROCK_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"))
        self.bearer = os.environ.get("AWS_BEARER_TOKEN_BEDROCK") or None
        if self.bearer is None:
            self._check_credentials()
        if not self.region:
            raise ProviderConfigError(
                f"{label} needs an AWS region: set AWS_REGION or region in [tool.promptcheck.providers.\"{label}\"]."
            )

    def _check_credentials(self) -> None:
        import botocore.session

        # The chain boto3 uses (environment, profiles, SSO, instance roles); found now, not at
        # the first call, so a missing setup is one line in the summary, not an error per item.
        if botocore.session.Session().get_credentials() is None:
            raise ProviderConfigError(
                f"{self.label} needs AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "AWS_PROFILE, or AWS_BEARER_TOKEN_BEDROCK."
            )

    def _make_client(self, sdk: ModuleType) -> Any:
        return sdk.AnthropicBedrock(
            aws_region=self.region, api_key=self.bearer, base_url=self.platform_base_url,
            timeout=self.timeout_s, max_retries=self.max_retries,
        )


class VertexProvider(_PlatformProvider):
    """``complete()`` via ``anthropic.AnthropicVertex(...).messages.create``."""

    def __init__(
        self,
        *,
        label: str = "vertex",
        region: str | None = None,
        project_id: str | None = None,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(label=label, base_url=base_url or os.environ.get("ANTHROPIC_VERTEX_BASE_URL"), **kwargs)
        self.region = region or first_env(("CLOUD_ML_REGION", "VERTEX_REGION")) or VERTEX_DEFAULT_REGION
        self.project_id = project_id or first_env(("ANTHROPIC_VERTEX_PROJECT_ID", "VERTEX_PROJECT_ID", "GOOGLE_CLOUD_PROJECT"))
        # promptfoo's VERTEX_API_KEY is an access token (`gcloud auth print-access-token`).
        self.access_token = os.environ.get("VERTEX_API_KEY") or None
        if self.access_token is None:
            require_extra(label, "vertex", ("google.auth",))
            self._check_credentials()
        if not self.project_id:
            raise ProviderConfigError(
                f"{label} needs a Google Cloud project: set ANTHROPIC_VERTEX_PROJECT_ID or project_id "
                f"in [tool.promptcheck.providers.\"{label}\"]."
            )

    def _check_credentials(self) -> None:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        # Found now, not at the first call: one line in the summary instead of an error per item.
        try:
            _, project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        except DefaultCredentialsError:
            raise ProviderConfigError(
                f"{self.label} needs Google Cloud credentials: run `gcloud auth application-default login`, "
                "set GOOGLE_APPLICATION_CREDENTIALS, or set VERTEX_API_KEY to an access token."
            ) from None
        self.project_id = self.project_id or project

    def _make_client(self, sdk: ModuleType) -> Any:
        options: dict[str, Any] = {"project_id": self.project_id} if self.project_id else {}
        return sdk.AnthropicVertex(
            region=self.region, access_token=self.access_token, base_url=self.platform_base_url,
            timeout=self.timeout_s, max_retries=self.max_retries, **options,
        )
