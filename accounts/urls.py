from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import staff_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register_view, name="register"),
    path("language/", views.language_switch_view, name="language"),
    path("settings/", views.preferences_view, name="preferences"),
    path("settings/notifications/", views.notification_preferences_view, name="notification-preferences"),
    path("unsubscribe/<str:token>/", views.notification_unsubscribe_view, name="notification-unsubscribe"),
    path("confirm/resend/", views.confirmation_resend_view, name="confirmation-resend"),
    path("confirm/<str:token>/", views.email_confirm_view, name="email-confirm"),
    path("mfa/setup/", views.mfa_setup_view, name="mfa-setup"),
    path("staff/", staff_views.staff_list_view, name="staff-list"),
    path("staff/invite/", staff_views.staff_invite_view, name="staff-invite"),
    path("staff/<int:user_id>/role/", staff_views.staff_role_view, name="staff-role"),
    path(
        "staff/invitations/<int:invitation_id>/withdraw/",
        staff_views.staff_invitation_revoke_view,
        name="staff-invitation-revoke",
    ),
    path("invitation/<str:token>/", staff_views.invitation_accept_view, name="invitation-accept"),
    path("mfa/verify/", views.mfa_verify_view, name="mfa-verify"),
    path("security/recovery-codes/", views.recovery_codes_view, name="recovery-codes"),
    path(
        "password-reset/",
        views.PasswordResetView.as_view(),
        name="password-reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password-reset-done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("accounts:password-reset-complete"),
        ),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password-reset-complete",
    ),
]
