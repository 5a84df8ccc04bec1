// A <select data-autosubmit> sends its form when changed (the language and shop
// pickers). A static file, not an inline onchange=: the Content-Security-Policy
// allows no inline script.
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("[data-autosubmit]") && field.form) {
    field.form.submit();
  }
});
