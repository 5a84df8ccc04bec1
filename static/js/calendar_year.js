// Year editor: ask before the buttons that recompute deadlines (data-confirm), and
// keep the scroll position when a day is toggled (the page reloads at #m<month>).
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-confirm]");
  if (button && !window.confirm(button.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
