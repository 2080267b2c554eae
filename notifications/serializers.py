from rest_framework import serializers


class NotificationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    message = serializers.CharField()
    payload = serializers.DictField()
    status = serializers.CharField()
    is_sent = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
