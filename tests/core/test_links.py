import pytest

from opmaestro.core.links import public_url


@pytest.fixture(params=["https://app.example.com", "https://app.example.com/"])
def settings_with_base(request, settings):
    return settings.model_copy(update={"public_base_url": request.param})


class TestPublicUrl:
    def test_one_slash_between_base_and_path(self, settings_with_base):
        assert public_url(settings_with_base, "/sign-in") == "https://app.example.com/sign-in"
        assert public_url(settings_with_base, "sign-in") == "https://app.example.com/sign-in"

    def test_the_base_alone_has_no_trailing_slash(self, settings_with_base):
        assert public_url(settings_with_base) == "https://app.example.com"

    def test_query_values_are_encoded(self, settings_with_base):
        url = public_url(settings_with_base, "/reset-password", token="a+b/c=&d e", next="/x?y=1")
        assert url == "https://app.example.com/reset-password?token=a%2Bb%2Fc%3D%26d+e&next=%2Fx%3Fy%3D1"

    def test_a_base_with_a_path_keeps_it(self, settings):
        hosted = settings.model_copy(update={"public_base_url": "https://example.com/opm/"})
        assert public_url(hosted, "/api/v1") == "https://example.com/opm/api/v1"
