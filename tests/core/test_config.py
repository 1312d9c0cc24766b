import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from opmaestro.core.config import DEVELOPMENT_SECRET, Settings, is_loopback


def production(**overrides) -> Settings:
    values = {
        "environment": "production",
        "secret_key": "k" * 48,
        "public_base_url": "https://privacy.example.com",
        "integration_token_keys": Fernet.generate_key().decode(),
        "webhook_secret_keys": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
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

    @pytest.mark.parametrize("keys", [None, "", " , "])
    def test_missing_integration_token_key_is_refused(self, keys):
        with pytest.raises(ValidationError, match="OPMAESTRO_INTEGRATION_TOKEN_KEYS"):
            production(integration_token_keys=keys)

    @pytest.mark.parametrize("keys", ["not-a-key", "a" * 44 + ",x"])
    def test_malformed_integration_token_key_is_refused(self, keys):
        with pytest.raises(ValidationError, match="Fernet key"):
            Settings(integration_token_keys=keys)

    def test_development_accepts_defaults(self):
        assert not Settings(environment="development").is_production


class TestListenAddress:
    @pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LocalHost"])
    def test_loopback_addresses(self, host):
        assert is_loopback(host)

    @pytest.mark.parametrize(
        "host", ["0.0.0.0", "::", "", "192.168.1.20", "10.0.0.5", "crm.internal", "localhost.evil"]
    )
    def test_other_addresses(self, host):
        assert not is_loopback(host)

    @pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20"])
    def test_default_secret_is_refused_off_loopback_in_development(self, host):
        settings = Settings(environment="development")
        assert "OPMAESTRO_SECRET_KEY" in (settings.unsafe_listen_address(host) or "")

    @pytest.mark.parametrize("secret", ["", "k" * 31])
    def test_short_secret_is_refused_off_loopback(self, secret):
        assert Settings(secret_key=secret).unsafe_listen_address("0.0.0.0")

    def test_loopback_accepts_the_development_secret(self):
        assert Settings().unsafe_listen_address("127.0.0.1") is None

    def test_strong_secret_may_listen_anywhere(self):
        assert Settings(secret_key="k" * 32).unsafe_listen_address("0.0.0.0") is None


class TestForwardedAllowIps:
    def test_no_proxy_is_trusted_by_default(self):
        assert Settings().forwarded_allow_ips == ""

    def test_addresses_and_networks_are_accepted(self, monkeypatch):
        monkeypatch.setenv("OPMAESTRO_FORWARDED_ALLOW_IPS", " 10.0.0.0/8, 192.0.2.1 ,2001:db8::1")
        assert Settings().forwarded_allow_ips == "10.0.0.0/8,192.0.2.1,2001:db8::1"

    def test_everyone_may_be_trusted_explicitly(self):
        assert Settings(forwarded_allow_ips="*").forwarded_allow_ips == "*"

    @pytest.mark.parametrize(
        "value", ["10.0.0.300", "load-balancer", "10.0.0.0/33", "10.0.0.1/8", "*,10.0.0.1"]
    )
    def test_typos_are_refused(self, value):
        with pytest.raises(ValidationError, match="not an IP address"):
            Settings(forwarded_allow_ips=value)


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


class TestGoogleSecurityEvents:
    def test_the_audience_defaults_to_the_google_client_id(self):
        settings = Settings(google_client_id="client-1.apps.googleusercontent.com")
        assert settings.google_risc_audience_list == ("client-1.apps.googleusercontent.com",)

    def test_listed_audiences_win(self):
        settings = Settings(google_client_id="client-1", google_risc_audiences="a, b")
        assert settings.google_risc_audience_list == ("a", "b")

    def test_nothing_configured_means_no_audience(self):
        assert Settings(google_client_id=None, google_risc_audiences="").google_risc_audience_list == ()
