/*
 * Credit-check consent page: once the wallet is open, "I agree" presents the customer's credit-history credential
 * with only the claims the request names (data-claims), bound to its challenge and the dealer's DID, and submits the
 * presentation with the page's form. Nothing else leaves the browser.
 */
(function () {
  "use strict";

  function showError(text) {
    const element = document.getElementById("credit-check-error");
    element.textContent = text;
    element.hidden = !text;
  }

  function creditCredential(claims) {
    const wallet = window.FinLabWallet;
    return wallet.list().find(function (entry) {
      return entry.type === "CreditHistoryCredential" && entry.format === "sd-jwt" &&
        claims.every(function (name) { return entry.disclosable.indexOf(name) >= 0; });
    });
  }

  function refreshConsent(button) {
    button.disabled = !(window.FinLabWallet && window.FinLabWallet.isUnlocked());
  }

  function bind() {
    const form = document.getElementById("credit-check-form");
    if (!form) return;
    const button = document.getElementById("credit-check-consent");
    const claims = form.dataset.claims.split(",");
    document.getElementById("wallet-unlock").addEventListener("click", function () {
      setTimeout(function poll() {
        refreshConsent(button);
        if (button.disabled) setTimeout(poll, 200);
      }, 200);
    });
    button.addEventListener("click", async function () {
      showError("");
      const entry = creditCredential(claims);
      if (!entry) {
        showError(form.dataset.textNoCredential || "Your wallet holds no credit-history credential with these claims. Get one first.");
        return;
      }
      button.disabled = true;
      try {
        const presentation = await window.FinLabWallet.present({
          credentialId: entry.id, disclose: claims, challenge: form.dataset.challenge, domain: form.dataset.domain,
        });
        document.getElementById("credit-check-presentation").value = presentation;
        const action = document.createElement("input");
        action.type = "hidden";
        action.name = "action";
        action.value = "present";
        form.appendChild(action);
        form.submit();
      } catch (failure) {
        showError(failure.message);
        button.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", bind);
})();
