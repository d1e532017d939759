// The sign-in page: signing in brings the user back to the console page they
// were on (its hash route, #/functions/echo), which the server never sees. The
// form posts to /console/login with that hash; the server's redirect to
// /console/ carries no hash of its own, so the browser keeps this one.
"use strict";
(() => {
  const form = document.querySelector('form[action^="/console/login"]');
  if (form && location.hash) form.action = "/console/login" + location.hash;
})();
