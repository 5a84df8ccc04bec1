"""drf-spectacular: describe the Standard Webhooks signature as the security scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class StandardWebhookScheme(OpenApiAuthenticationExtension):
    target_class = "channels.api.auth.StandardWebhookAuthentication"
    name = "StandardWebhooks"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "webhook-signature",
            "description": (
                "Standard Webhooks: send webhook-id, webhook-timestamp and webhook-signature "
                '("v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>"). See the API description.'
            ),
        }
