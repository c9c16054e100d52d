from django import forms
from django.test.html import parse_html

from customers.widgets import FastSelect, speed_up_selects


class Choose(forms.Form):
    fruit = forms.ChoiceField(choices=[("", "---------"), ("a", "苹果"), ("b", "<b>&")])


def test_fast_select_renders_what_the_template_select_renders():
    form = Choose({"fruit": "b"})
    template_html = str(form["fruit"])
    speed_up_selects(form)
    fast_html = str(form["fruit"])
    assert isinstance(form.fields["fruit"].widget, FastSelect)
    assert parse_html(fast_html) == parse_html(template_html)
    assert '<option value="b" selected>&lt;b&gt;&amp;</option>' in fast_html
