"""The mortgage calculator's API: ``POST /api/v1/calculators/mortgage/`` (issue 13), open
to every signed-in user (token or session); it computes and writes nothing."""

from drf_spectacular.utils import extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from loupan.payments import calculator

from .serializers import MortgageResultSerializer, MortgageSerializer


class MortgageCalculatorView(APIView):
    """房贷计算器: the monthly repayment schedule of a commercial loan, a provident-fund
    loan or both (组合贷), by equal instalments 等额本息 or equal principal 等额本金.
    Amounts are strings to the fen; ``monthly_payment`` is the first month's."""

    parser_classes = [JSONParser]  # loans are nested objects; a form body cannot carry them

    @extend_schema(
        operation_id="calculators_mortgage",
        request=MortgageSerializer,
        responses={200: MortgageResultSerializer},
    )
    def post(self, request):
        serializer = MortgageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = calculator.mortgage(**serializer.validated_data)
        return Response(MortgageResultSerializer(result).data)
