import pytest
from pydantic import ValidationError

from opmaestro.core.config import DEVELOPMENT_SECRET, Settings


def production(**overrides) -> Settings:
    values = {
        "environment": "production",
        "secret_key": "k" * 48,
        "public_base_url": "https://privacy.example.com",
    } | overrides
    return Settings(**values)


class TestProductionSafety:
    def test_sound_production_settings_load(self):
        assert production().is_production

    @pytest.mark.parametrize("secret", ["", DEVELOPMENT_SECRET, "short"])
    def test_weak_or_default_secret_is_refused(self, secret):
        with pytest.raises(ValidationError, match="OPMAESTRO_SECRET_KEY"):
            production(secret_key=secret)

    def test_plain_http_public_url_is_refused(self):
        with pytest.raises(ValidationError, match="OPMAESTRO_PUBLIC_BASE_URL"):
            production(public_base_url="http://privacy.example.com")

    def test_development_accepts_defaults(self):
        assert not Settings(environment="development").is_production


class TestSources:
    def test_environment_variables_use_the_prefix(self, monkeypatch):
        monkeypatch.setenv("OPMAESTRO_PORT", "9123")
        monkeypatch.setenv("OPMAESTRO_SMTP_HOST", "mail.internal")
        settings = Settings()
        assert settings.port == 9123 and settings.smtp_host == "mail.internal"

    def test_links_follow_the_port_and_host_unless_a_public_url_is_given(self, monkeypatch):
        monkeypatch.setenv("OPMAESTRO_PORT", "9123")
        assert Settings().public_base_url == "http://127.0.0.1:9123"
        monkeypatch.setenv("OPMAESTRO_HOST", "0.0.0.0")
        assert Settings().public_base_url == "http://127.0.0.1:9123"
        monkeypatch.setenv("OPMAESTRO_HOST", "::1")
        assert Settings().public_base_url == "http://[::1]:9123"
        monkeypatch.setenv("OPMAESTRO_PUBLIC_BASE_URL", "http://crm.internal:8080")
        assert Settings().public_base_url == "http://crm.internal:8080"

    def test_dotenv_file_is_read(self, tmp_dir, monkeypatch):
        (tmp_dir / ".env").write_text("OPMAESTRO_MAX_BODY_BYTES=2048\nOPMAESTRO_LOG_LEVEL=DEBUG\n")
        monkeypatch.chdir(tmp_dir)
        settings = Settings()
        assert settings.max_body_bytes == 2048 and settings.log_level == "DEBUG"

    def test_invalid_values_are_refused(self, monkeypatch):
        monkeypatch.setenv("OPMAESTRO_PORT", "99999")
        with pytest.raises(ValidationError):
            Settings()
