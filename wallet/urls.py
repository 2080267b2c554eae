from django.urls import path

from wallet import api

urlpatterns = [
    path("wallet/spend", api.SpendApi.as_view(), name="wallet-spend"),
    path("wallet/purchase", api.PurchaseApi.as_view(), name="wallet-purchase"),
    path("wallet/purchase/check", api.PurchaseCheckApi.as_view(), name="wallet-purchase-check"),
    path("wallet/refund", api.RefundApi.as_view(), name="wallet-refund"),
    path("me/wallet", api.MyWalletApi.as_view(), name="me-wallet"),
    path("users/<int:user_id>/wallet", api.UserWalletApi.as_view(), name="user-wallet"),
]
